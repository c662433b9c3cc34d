"""Temporal connection the standard way, as the TS side does it (@temporalio/envconfig): TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the TOML config file
(TEMPORAL_CONFIG_FILE) through temporalio.envconfig. Defaults: localhost:7233, namespace default."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from temporalio.envconfig import ClientConfig

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


def connect_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for Client.connect (target_host, namespace, api_key, tls, ...)."""
    env = dict(os.environ if env is None else env)
    cfg: dict[str, Any] = dict(ClientConfig.load_client_connect_config(profile=env.get("TEMPORAL_PROFILE") or None, override_env_vars=env))
    cfg.setdefault("target_host", DEFAULT_ADDRESS)
    cfg.setdefault("namespace", DEFAULT_NAMESPACE)
    return cfg


def describe(cfg: Mapping[str, Any]) -> str:
    """`localhost:7233 (namespace default, TLS, API key)` — never the key itself."""
    extra = [f"namespace {cfg['namespace']}"]
    if cfg.get("tls"):
        extra.append("TLS")
    if cfg.get("api_key"):
        extra.append("API key")
    return f"{cfg['target_host']} ({', '.join(extra)})"
