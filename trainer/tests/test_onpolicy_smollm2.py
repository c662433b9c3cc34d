"""On-policy sampling with the real SmolLM2-135M-Instruct (issue 11): prompts of very different
lengths sampled in one left-padded chunk give the same tokens and logprobs as each prompt alone,
and the learner (train_step's scoring path, right-padded) agrees with the sampler token by token,
at temperature 1 and at the tempered/top-p distribution. The tiny random model cannot show this:
its outputs barely depend on positions."""
import math

import pytest
import torch

from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends.local import LocalBackend, forward_logprobs
from gepa_rl_trainer.datums import chat_prompt_ids, training_examples

SMOL = {"backend": "local", "base_model": "smollm2-135m-instruct", "lora_rank": 4, "lora_alpha": 8, "lora_target_modules": ["q_proj", "v_proj"]}
MAX_TOKENS = 6
# chat-templated lengths from about 30 to about 200 tokens: up to ~170 pads in front of the shortest row
MIXED = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "user", "content": "What is 17 + 25? Answer with a number."}],
    [{"role": "system", "content": "You are a careful math tutor. " * 6}, {"role": "user", "content": "A train travels 120 km at 60 km/h. How long does it take?"}],
    [{"role": "user", "content": "Summarise this text in one sentence. " + "The quick brown fox jumps over the lazy dog near the river bank. " * 12}],
]


@pytest.fixture(scope="module")
def smol():
    return LocalBackend()


def sample(b, tmp_path, prompts, temperature, top_p=1.0, seed=0, num_samples=1):
    return b.sample({"model": SMOL, "checkpoint": None, "prompts": prompts, "num_samples": num_samples, "return_texts": True,
                     "sampling": {"max_tokens": MAX_TOKENS, "temperature": temperature, "top_p": top_p, "seed": seed}, "blob_dir": str(tmp_path)})


def learner_minus_sampler(b, res, **override):
    """Per rollout: |learner - sampler| logprob of every sampled token, the learner being the
    forward train_step trains with (override: score under another temperature/top_p)."""
    tok = b.tokenizer(SMOL["base_model"])
    n = len(blobs.read_json(res["rollouts_ref"])["rollouts"])
    data = [dict(d, **override) for d in training_examples({"loss": "importance_sampling", "rollouts_ref": res["rollouts_ref"], "advantages": [1.0] * n}, tok)]
    model = b.live_model(SMOL, None).model
    with torch.no_grad():
        rows = forward_logprobs(model, tok, data, b.device)
    return [(lp_T - torch.tensor(d["logprobs"])).abs() for d, (lp_T, _) in zip(data, rows)]


def test_prompt_lengths_really_differ(smol):
    tok = smol.tokenizer(SMOL["base_model"])
    lengths = [len(chat_prompt_ids(tok, p)) for p in MIXED]
    assert max(lengths) - min(lengths) > 150


def test_greedy_rows_of_a_mixed_length_chunk_equal_each_prompt_sampled_alone(smol, tmp_path):
    together = sample(smol, tmp_path, MIXED, temperature=0)
    alone = [sample(smol, tmp_path, [p], temperature=0) for p in MIXED]
    for i, a in enumerate(alone):
        assert together["texts"][i][0] == a["texts"][0][0], f"row {i}"
    rows = blobs.read_json(together["rollouts_ref"])["rollouts"]
    for i, a in enumerate(alone):
        lone = blobs.read_json(a["rollouts_ref"])["rollouts"][0]
        assert rows[i]["token_ids"] == lone["token_ids"]
        assert max(abs(x - y) for x, y in zip(rows[i]["logprobs"], lone["logprobs"])) < 1e-3
    for i, d_T in enumerate(learner_minus_sampler(smol, together)):
        assert float(d_T.max()) < 1e-3, f"row {i}: max |sampler - learner| = {float(d_T.max())}"


@pytest.fixture(scope="module")
def sampled_t1(smol, tmp_path_factory):
    """Two samples per prompt of the mixed chunk at temperature 1."""
    return sample(smol, tmp_path_factory.mktemp("t1"), MIXED, temperature=1.0, seed=3, num_samples=2)


def test_sampled_rows_agree_with_the_learner_token_by_token(smol, sampled_t1):
    diffs = learner_minus_sampler(smol, sampled_t1)
    assert len(diffs) == 2 * len(MIXED)
    for i, d_T in enumerate(diffs):
        assert float(d_T.max()) < 1e-3, f"rollout {i}: max |sampler - learner| = {float(d_T.max())}"


def test_tempered_sampling_is_scored_under_the_same_distribution(smol, tmp_path):
    res = sample(smol, tmp_path, MIXED, temperature=0.7, seed=5)
    assert blobs.read_json(res["rollouts_ref"])["sampling"] == {"temperature": 0.7, "top_p": 1.0}
    for i, d_T in enumerate(learner_minus_sampler(smol, res)):
        assert float(d_T.max()) < 1e-3, f"rollout {i}: max |sampler - learner| = {float(d_T.max())}"
    # scored at temperature 1 (what the learner did before) the same tokens are off-policy
    at_one = learner_minus_sampler(smol, res, temperature=1.0)
    assert max(float(d_T.max()) for d_T in at_one) > 0.05


def test_train_step_on_mixed_length_rollouts_has_kl_sample_train_near_zero(smol, sampled_t1, tmp_path):
    n = sum(len(x) for x in sampled_t1["num_tokens"])
    out = smol.train_step({"run_id": "onpolicy", "step": 0, "model": SMOL, "checkpoint_in": None, "checkpoint_root": str(tmp_path / "ckpt"),
                           "loss": "importance_sampling", "rollouts_ref": sampled_t1["rollouts_ref"], "advantages": [1.0, -1.0] * (n // 2),
                           "optim": {"learning_rate": 1e-4, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.0, "grad_clip": 0.0}})
    m = out["metrics"]
    assert m["tokens"] > 0 and math.isfinite(m["grad_norm"]) and m["grad_norm"] > 0
    assert abs(m["kl_sample_train_v1"]) < 1e-2 and 0 <= m["kl_sample_train_v2"] < 1e-2, m


def lone_sequence_logprobs(model, d) -> torch.Tensor:
    """The plain reference: one forward over the whole sequence (prompt + completion) alone."""
    ids = torch.tensor([d["prompt"] + d["completion"]])
    P, C = len(d["prompt"]), len(d["completion"])
    logp_TV = torch.log_softmax(model(input_ids=ids).logits[0, P - 1 : P - 1 + C].float(), dim=-1)
    return logp_TV.gather(-1, torch.tensor(d["completion"])[:, None]).squeeze(-1)


def lora_grads(model) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in model.parameters() if p.requires_grad]


@pytest.mark.parametrize("layout", ["packed", "padded"])
def test_a_groups_shared_prompt_gives_the_loss_and_gradient_of_one_forward_per_sequence(smol, sampled_t1, layout):
    """The learner runs each distinct prompt once and its completions over its KV cache (packed in one
    row, or right-padded); the log-probabilities and the LoRA gradient of a loss over them equal those
    of a forward per whole sequence (the gradient flows back through the shared prompt)."""
    tok = smol.tokenizer(SMOL["base_model"])
    data = training_examples({"loss": "importance_sampling", "rollouts_ref": sampled_t1["rollouts_ref"], "advantages": [1.0, -0.5] * len(MIXED)}, tok)
    assert len({tuple(d["prompt"]) for d in data}) == len(MIXED) < len(data)  # two completions share each prompt
    model = smol.live_model(SMOL, None).model
    weights = [d["advantage"] for d in data]
    model.zero_grad(set_to_none=True)
    shared = forward_logprobs(model, tok, data, smol.device, layout=layout)
    sum(w * lp_T.sum() for w, (lp_T, _) in zip(weights, shared)).backward()
    g_shared = lora_grads(model)
    model.zero_grad(set_to_none=True)
    lone = [lone_sequence_logprobs(model, d) for d in data]
    sum(w * lp_T.sum() for w, lp_T in zip(weights, lone)).backward()
    g_lone = lora_grads(model)
    model.zero_grad(set_to_none=True)
    for i, ((lp_T, _), ref_T) in enumerate(zip(shared, lone)):
        assert float((lp_T - ref_T).detach().abs().max()) < 1e-4, f"example {i}"
    assert len(g_shared) == len(g_lone) > 0
    num = sum(float((a - b).pow(2).sum()) for a, b in zip(g_shared, g_lone)) ** 0.5
    den = sum(float(b.pow(2).sum()) for b in g_lone) ** 0.5
    assert den > 0 and num / den < 1e-4, f"relative gradient difference {num / den}"


def test_the_cheaper_layout_packs_short_uneven_completions_and_pads_long_even_ones(smol):
    from gepa_rl_trainer.backends.local import cheaper_completion_layout
    from gepa_rl_trainer.backends.sampling import prefill_distinct

    tok = smol.tokenizer(SMOL["base_model"])
    model = smol.live_model(SMOL, None).model
    prompt = chat_prompt_ids(tok, MIXED[1])
    with torch.no_grad():
        pre = prefill_distinct(model, [prompt] * 8, tok.pad_token_id, smol.device)
    rl = [{"prompt": prompt, "completion": [7] * n} for n in (2, 3, 4, 5, 6, 8, 32, 32)]
    sft = [{"prompt": prompt, "completion": [7] * 600} for _ in range(8)]
    assert cheaper_completion_layout(model, rl, pre) == "packed"
    assert cheaper_completion_layout(model, sft, pre) == "padded"
