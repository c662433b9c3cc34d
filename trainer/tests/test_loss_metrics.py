"""The loss metrics of a train step (issue 23, item 9): `loss` is the sum over the trained tokens
(Tinker's loss:sum, what is backpropagated) and `loss_per_token` the mean per trained token (what TRL
logs as its loss), on both backends."""
from types import SimpleNamespace

import pytest
import torch

from conftest import OPTIM, TINY
from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends.local import forward_logprobs
from gepa_rl_trainer.backends.tinker import sft_datum_arrays, step_metrics
from gepa_rl_trainer.datums import training_examples


def test_local_cross_entropy_logs_the_sum_and_the_per_token_mean(backend, tmp_path):
    ex = [{"messages": [{"role": "user", "content": "What is 2+2?"}], "completion": "4"},
          {"messages": [{"role": "user", "content": "Name a colour."}], "completion": "Blue, or perhaps green."}]
    req = {"run_id": "ce-mean", "step": 0, "model": TINY, "checkpoint_in": None, "checkpoint_root": str(tmp_path / "ce"),
           "loss": "cross_entropy", "sft_examples_ref": blobs.write_json(str(tmp_path), ex), "optim": OPTIM}
    tok = backend.tokenizer("tiny-random")
    data = training_examples(req, tok)
    with torch.no_grad():
        nll_T = torch.cat([-lp_T for lp_T, _ in forward_logprobs(backend.live_model(TINY, None).model, tok, data, backend.device)])
    m = backend.train_step(req)["metrics"]
    assert m["tokens"] == nll_T.numel() and m["tokens"] > 2
    assert m["loss"] == pytest.approx(float(nll_T.sum()), rel=1e-5)
    assert m["loss_per_token"] == pytest.approx(float(nll_T.mean()), rel=1e-5)


def test_tinker_logs_loss_sum_over_trained_tokens_as_the_per_token_mean():
    # two SFT datums with 3 and 1 trained tokens; Tinker reports loss:sum = 2.0
    arrays = [sft_datum_arrays([1, 2], [5, 6, 9]), sft_datum_arrays([1, 2, 3], [4])]
    m = step_metrics(arrays, SimpleNamespace(metrics={"loss:sum": 2.0}, loss_fn_outputs=[]), None, 1e-4)
    assert (m["loss"], m["tokens"], m["loss_per_token"]) == (2.0, 4, 0.5)
