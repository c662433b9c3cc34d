"""What every trainer backend implements (local: PyTorch on this machine; tinker: the Tinker service).
Both read their requests with gepa_rl_trainer.requests and answer in the shapes of src/types.ts."""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Backend(Protocol):
    def sample(self, req: dict) -> dict:
        """policy_sample: rollouts to the blob store; the compact result (rollouts_ref, num_tokens, texts, seconds)."""
        ...

    def train_step(self, req: dict) -> dict:
        """train_step: one optimiser step, idempotent by (run, step); {checkpoint_out, metrics, reused, seconds}."""
        ...
