"""policy.sampler=vllm with the real SmolLM2-135M-Instruct (issue 25): RL batches sampled by a vLLM
engine (.venv-vllm, made by `make setup`) and trained by the local backend stay on-policy, and the
engine samples from the adapter each train step wrote.

Heavy: one vLLM engine for the module (about a minute to load on 2 busy cores), few prompts, short
completions. The tiny random model cannot show either property (its outputs barely depend on the
weights' positions and a LoRA step barely moves them)."""
import json
import math
import random

import pytest
import torch

from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends.local import LocalBackend, forward_logprobs
from gepa_rl_trainer.backends.vllm_sampler import vllm_python
from gepa_rl_trainer.datums import chat_prompt_ids

SMOL = {"backend": "local", "base_model": "smollm2-135m-instruct", "lora_rank": 4, "lora_alpha": 8, "lora_target_modules": ["q_proj", "v_proj"], "sampler": "vllm"}
OPTIM = {"learning_rate": 1e-4, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.0, "grad_clip": 0.0}
FILLER = "the quick brown fox jumps over the lazy dog near the old river bank".split()



@pytest.fixture(scope="module")
def smol():
    assert vllm_python().exists(), f"{vllm_python()} is missing: run `make setup` (it installs vLLM in .venv-vllm)"
    b = LocalBackend()
    yield b
    if b._vllm is not None:
        b._vllm.stop()


def jsonl_prompts(tmp_path, n_words=(0, 130, 260, 400)) -> list[list[dict]]:
    """A JSONL task's prompts: filler of 0..400 words before the question, written and read back."""
    rng = random.Random(0)
    path = tmp_path / "mixed.jsonl"
    with open(path, "w") as f:
        for i, n in enumerate(n_words):
            filler = " ".join(rng.choice(FILLER) for _ in range(n))
            f.write(json.dumps({"prompt": f"{filler}\n\nWhat is {i + 3} + {2 * i + 5}? Answer with a number.".lstrip(), "answer": str(3 * i + 8)}) + "\n")
    return [[{"role": "user", "content": json.loads(line)["prompt"]}] for line in path.read_text().splitlines()]


def sample(b, tmp_path, prompts, checkpoint, seed, num_samples=2, max_tokens=8, temperature=1.0, top_p=1.0):
    return b.sample({"model": SMOL, "checkpoint": checkpoint, "prompts": prompts, "num_samples": num_samples, "return_texts": True,
                     "sampling": {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "seed": seed}, "blob_dir": str(tmp_path)})


def centred_length_advantages(rollouts, group_size):
    """A toy reward (completion length) centred per group: non-zero advantages without a grader."""
    adv = []
    for g in range(0, len(rollouts), group_size):
        r = [len(x["token_ids"]) + 0.1 * x["sample_index"] for x in rollouts[g : g + group_size]]
        m = sum(r) / len(r)
        adv += [x - m for x in r]
    return adv


def test_rl_batches_sampled_by_vllm_on_mixed_length_jsonl_prompts_train_on_policy(smol, tmp_path):
    prompts = jsonl_prompts(tmp_path)
    tok = smol.tokenizer(SMOL["base_model"])
    lengths = [len(chat_prompt_ids(tok, p)) for p in prompts]
    assert max(lengths) - min(lengths) > 300, lengths
    checkpoint = None
    for step, (temperature, top_p) in enumerate([(1.0, 1.0), (0.8, 0.95)]):
        res = sample(smol, tmp_path, prompts, checkpoint, seed=11 + step, temperature=temperature, top_p=top_p)
        blob = blobs.read_json(res["rollouts_ref"])
        assert blob["checkpoint"] == checkpoint and blob["model"]["sampler"] == "vllm"
        rollouts = blob["rollouts"]
        assert [(r["prompt_index"], r["sample_index"]) for r in rollouts] == [(p, s) for p in range(len(prompts)) for s in range(2)]
        out = smol.train_step({"run_id": "vllm-rl", "step": step, "model": SMOL, "checkpoint_in": checkpoint, "checkpoint_root": str(tmp_path / "ckpt"),
                               "loss": "importance_sampling", "rollouts_ref": res["rollouts_ref"], "advantages": centred_length_advantages(rollouts, 2), "optim": OPTIM})
        m = out["metrics"]
        assert m["tokens"] > 0 and math.isfinite(m["grad_norm"]) and m["grad_norm"] > 0
        print(f"batch {step}: kl_sample_train_v1={m['kl_sample_train_v1']:.2e} kl_sample_train_v2={m['kl_sample_train_v2']:.2e} tokens={m['tokens']}")
        assert abs(m["kl_sample_train_v1"]) < 1e-2 and 0 <= m["kl_sample_train_v2"] < 1e-2, (step, m)
        checkpoint = out["checkpoint_out"]


def score_learner(b, checkpoint, prompt_ids, completion_ids) -> torch.Tensor:
    model = b.live_model(SMOL, checkpoint).model
    with torch.no_grad():
        (lp_T, _), = forward_logprobs(model, b.tokenizer(SMOL["base_model"]), [{"prompt": prompt_ids, "completion": completion_ids}], b.device)
    return lp_T


def test_vllm_samples_from_the_adapter_the_train_step_wrote(smol, tmp_path):
    """After an SFT step that moves the weights, vLLM's logprobs of a fixed completion under the new
    checkpoint follow the learner's (the same checkpoint in PyTorch) and differ from the base's."""
    tok = smol.tokenizer(SMOL["base_model"])
    messages = [{"role": "user", "content": "Name a colour."}]
    completion = "Purple elephants dance on Tuesdays."
    ref = blobs.write_json(str(tmp_path), [{"messages": messages, "completion": completion}] * 4)
    out = smol.train_step({"run_id": "vllm-adapter", "step": 0, "model": SMOL, "checkpoint_in": None, "checkpoint_root": str(tmp_path / "ckpt"),
                           "loss": "cross_entropy", "sft_examples_ref": ref, "optim": dict(OPTIM, learning_rate=1e-2)})
    ckpt = out["checkpoint_out"]
    prompt_ids = chat_prompt_ids(tok, messages)
    completion_ids = list(tok(completion, add_special_tokens=False)["input_ids"])
    engine = smol.vllm()
    vllm_base = torch.tensor(engine.score(SMOL, None, prompt_ids, completion_ids))
    vllm_tuned = torch.tensor(engine.score(SMOL, ckpt, prompt_ids, completion_ids))
    learner_base = score_learner(smol, None, prompt_ids, completion_ids)
    learner_tuned = score_learner(smol, ckpt, prompt_ids, completion_ids)
    moved = float((learner_tuned - learner_base).sum())
    assert moved > 1.0, f"the SFT step should raise the completion's logprob (moved {moved})"
    assert float((vllm_base - learner_base).abs().max()) < 1e-2
    assert float((vllm_tuned - learner_tuned).abs().max()) < 1e-2, (vllm_tuned, learner_tuned)
    assert float((vllm_tuned - vllm_base).sum()) > 0.9 * moved
    # and policy_sample under the checkpoint samples what the learner's own loop samples from it
    by_vllm = blobs.read_json(sample(smol, tmp_path, [messages], ckpt, seed=0, num_samples=1, max_tokens=6, temperature=0.0)["rollouts_ref"])["rollouts"][0]
    by_torch = blobs.read_json(smol.sample({"model": dict(SMOL, sampler="torch"), "checkpoint": ckpt, "prompts": [messages], "num_samples": 1, "return_texts": True,
                                            "sampling": {"max_tokens": 6, "temperature": 0.0, "top_p": 1.0, "seed": 0}, "blob_dir": str(tmp_path)})["rollouts_ref"])["rollouts"][0]
    assert by_vllm["token_ids"] == by_torch["token_ids"]
    assert max(abs(a - b) for a, b in zip(by_vllm["logprobs"], by_torch["logprobs"])) < 1e-2


def test_a_full_fine_tunes_weights_are_loaded_into_the_running_engine(smol, tmp_path):
    """lora_rank=0: the engine loads a checkpoint's model.safetensors in place (no restart) when a
    request names it, and the base weights again when a request names none. The checkpoint is the
    base with its MLP weights scaled (what train_step's writer stores: safetensors' save_model, tied
    tensors once), as a full fine-tune of SmolLM2 with Adam would need ~2.5 GB more memory here."""
    from safetensors.torch import save_model

    full = dict(SMOL, lora_rank=0)
    tok = smol.tokenizer(SMOL["base_model"])
    model = smol.live_model(full, None).model
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "mlp.down_proj" in name:
                p.mul_(1.5)
    ckpt = tmp_path / "full" / "0"
    ckpt.mkdir(parents=True)
    save_model(model, str(ckpt / "model.safetensors"))
    (ckpt / "DONE").write_text("")
    smol.models.drop()  # the live model was changed in place: rebuilt from the base below
    prompt_ids = chat_prompt_ids(tok, [{"role": "user", "content": "Name a colour."}])
    completion_ids = list(tok("Blue, like the sky.", add_special_tokens=False)["input_ids"])
    engine = smol.vllm()
    base = torch.tensor(engine.score(full, None, prompt_ids, completion_ids))
    t0 = __import__("time").time()
    tuned = torch.tensor(engine.score(full, str(ckpt), prompt_ids, completion_ids))
    print(f"weights loaded and scored in {__import__('time').time() - t0:.1f}s")
    again = torch.tensor(engine.score(full, None, prompt_ids, completion_ids))
    learner_base = score_learner_full(smol, full, None, prompt_ids, completion_ids)
    learner_tuned = score_learner_full(smol, full, str(ckpt), prompt_ids, completion_ids)
    assert float((learner_tuned - learner_base).abs().sum()) > 0.5
    assert float((base - learner_base).abs().max()) < 1e-2 and float((again - base).abs().max()) < 1e-4
    assert float((tuned - learner_tuned).abs().max()) < 1e-2, (tuned, learner_tuned)


def score_learner_full(b, ref, checkpoint, prompt_ids, completion_ids) -> torch.Tensor:
    model = b.live_model(ref, checkpoint).model
    with torch.no_grad():
        (lp_T, _), = forward_logprobs(model, b.tokenizer(ref["base_model"]), [{"prompt": prompt_ids, "completion": completion_ids}], b.device)
    return lp_T


def test_kill_9_of_the_vllm_server_mid_batch_fails_retryably_and_the_retry_writes_every_row_once(smol, tmp_path):
    """The vLLM process killed while it samples a batch: the call fails with a retryable error (not
    InvalidRequest), writes no rollouts blob, and the retry starts a new engine and returns every
    (prompt, sample) row exactly once."""
    import os
    import signal
    import threading

    from gepa_rl_trainer.errors import InvalidRequest

    engine = smol.vllm()
    prompts = jsonl_prompts(tmp_path)
    sample(smol, tmp_path / "warm", prompts[:1], None, seed=0, num_samples=1, max_tokens=2)  # an engine for this model ref
    pid = engine.server_pid()
    sent = threading.Event()
    post = engine._post

    def posting(route, body):
        sent.set()
        return post(route, body)

    def kill_when_sent():
        sent.wait()
        __import__("time").sleep(0.5)  # the request is in the engine: 8 rows x 48 tokens take many seconds here
        os.kill(pid, signal.SIGKILL)

    engine._post = posting
    killer = threading.Thread(target=kill_when_sent)
    killer.start()
    blob_dir = tmp_path / "blobs"
    try:
        with pytest.raises(RuntimeError) as e:
            sample(smol, blob_dir, prompts, None, seed=7, max_tokens=48)
    finally:
        killer.join()
        engine._post = post
    assert not isinstance(e.value, InvalidRequest) and "died mid-request" in str(e.value)
    assert not blob_dir.exists() or not list(blob_dir.iterdir())
    res = sample(smol, blob_dir, prompts, None, seed=7, max_tokens=48)  # what Temporal's retry runs
    assert engine.server_pid() not in (None, pid)
    rows = blobs.read_json(res["rollouts_ref"])["rollouts"]
    assert sorted((r["prompt_index"], r["sample_index"]) for r in rows) == [(p, s) for p in range(len(prompts)) for s in range(2)]
