import math

import pytest

from conftest import TINY, sample_req
from gepa_rl_trainer import blobs
from gepa_rl_trainer.errors import InvalidRequest


def test_same_seed_same_tokens_other_seed_differs(backend, tmp_path):
    a = backend.sample(sample_req(tmp_path, seed=3))
    b = backend.sample(sample_req(tmp_path, seed=3))
    c = backend.sample(sample_req(tmp_path, seed=4))
    ra, rb, rc = (blobs.read_json(x["rollouts_ref"])["rollouts"] for x in (a, b, c))
    assert [r["token_ids"] for r in ra] == [r["token_ids"] for r in rb]
    assert [r["token_ids"] for r in ra] != [r["token_ids"] for r in rc]


def test_logprobs_finite_nonpositive_and_ids_decode_to_text(backend, tmp_path):
    res = backend.sample(sample_req(tmp_path, num_samples=3, max_tokens=12))
    rollouts = blobs.read_json(res["rollouts_ref"])["rollouts"]
    assert len(rollouts) == 6
    tok = backend.tokenizer("tiny-random")
    for r in rollouts:
        assert len(r["logprobs"]) == len(r["token_ids"]) > 0
        assert all(math.isfinite(x) and x <= 0 for x in r["logprobs"])
        assert tok.decode(r["token_ids"], skip_special_tokens=True) == r["text"]
        assert res["num_tokens"][r["prompt_index"]][r["sample_index"]] == len(r["token_ids"])
        assert res["texts"][r["prompt_index"]][r["sample_index"]] == r["text"]
        assert r["stop_reason"] in ("stop", "length")
    assert [(r["prompt_index"], r["sample_index"]) for r in rollouts] == [(p, s) for p in range(2) for s in range(3)]


def test_greedy_is_deterministic_whatever_the_seed(backend, tmp_path):
    a = backend.sample(sample_req(tmp_path, seed=1, temperature=0))
    b = backend.sample(sample_req(tmp_path, seed=2, temperature=0))
    assert a["texts"] == b["texts"]


def test_prompt_longer_than_context_is_a_clear_error(backend, tmp_path):
    long = [[{"role": "user", "content": "word " * 3000}]]
    with pytest.raises(InvalidRequest, match=r"prompt 0 is \d+ tokens; .* context of 2048"):
        backend.sample(sample_req(tmp_path, prompts=long))


def test_missing_fields_and_prompts_ref(backend, tmp_path):
    with pytest.raises(InvalidRequest, match="missing field 'blob_dir'"):
        backend.sample({"model": {"base_model": "tiny-random"}, "num_samples": 1, "sampling": {}})
    req = sample_req(tmp_path)
    ref = blobs.write_json(str(tmp_path), req.pop("prompts"))
    res = backend.sample(dict(req, prompts_ref=ref))
    assert len(res["num_tokens"]) == 2


def test_blob_roundtrip_and_tamper_detection(tmp_path):
    ref = blobs.write_json(str(tmp_path), {"a": [1, 2], "s": "é"})
    assert blobs.read_json(ref) == {"a": [1, 2], "s": "é"}
    blobs.path_of(ref).write_text('{"a":[1,3],"s":"é"}')
    with pytest.raises(blobs.BlobError, match="corrupt"):
        blobs.read_json(ref)
    with pytest.raises(blobs.BlobError, match="non-finite"):
        blobs.write_json(str(tmp_path), {"x": float("nan")})


def test_each_distinct_prompt_is_prefilled_once_for_all_its_samples(backend, tmp_path):
    """The prefill runs over the chunk's distinct prompts (2 here), not over its 2 x 3 rows; the
    decode steps then run on all 6."""
    model = backend.live_model(TINY, None).model
    batch_sizes: list[tuple[int, int]] = []
    hook = model.register_forward_pre_hook(lambda _m, _a, kw: batch_sizes.append(tuple(kw["input_ids"].shape)), with_kwargs=True)
    try:
        res = backend.sample(sample_req(tmp_path, num_samples=3, max_tokens=4))
    finally:
        hook.remove()
    assert len(blobs.read_json(res["rollouts_ref"])["rollouts"]) == 6
    assert batch_sizes[0][0] == 2 and batch_sizes[0][1] > 1
    assert all(b == 6 and t == 1 for b, t in batch_sizes[1:])


def test_draw_follows_the_distribution_and_never_picks_a_token_outside_the_nucleus():
    import torch

    from gepa_rl_trainer.backends.sampling import draw

    p = torch.tensor([0.5, 0.3, 0.0, 0.15, 0.05, 0.0])
    logp = p.log().expand(200_000, -1)
    idx = draw(logp, torch.Generator().manual_seed(0))
    freq = torch.bincount(idx, minlength=6).double() / idx.numel()
    assert freq[2] == 0 and freq[5] == 0  # probability 0: never drawn, not even as the last index
    assert torch.allclose(freq, p.double(), atol=0.005), freq
    again = draw(logp[:1000], torch.Generator().manual_seed(0))
    assert torch.equal(again, draw(logp[:1000], torch.Generator().manual_seed(0)))  # the seed alone decides


def test_finished_rows_leave_the_batch_and_what_the_others_sample_does_not_change(backend):
    """With an end token that some rows produce early, those rows are dropped from the decode batch
    (compact_at) and every other row's greedy tokens and logprobs are those of the run without it."""
    import torch

    from gepa_rl_trainer.backends.sampling import _decode_loop

    model = backend.live_model(TINY, None).model
    tok = backend.tokenizer("tiny-random")
    prompts = [tok(f"prompt number {i} " * (1 + i % 3))["input_ids"] for i in range(8)]
    cpu = torch.device("cpu")
    free_T, free_lp = _decode_loop(model, prompts, 10, 0.0, 1.0, 0, tok.pad_token_id, -1, cpu)
    # as the end token, one that some rows write and others never do
    rows = [set(r) for r in free_T.tolist()]
    eos = next(t for t in free_T.flatten().tolist() if 0 < sum(t in r for r in rows) < 8)
    assert sum(eos in r[:8] for r in free_T.tolist()) >= 2  # enough rows end early for a drop (compact_at)
    batch_sizes: list[int] = []
    hook = model.register_forward_pre_hook(lambda _m, _a, kw: batch_sizes.append(kw["input_ids"].shape[0]), with_kwargs=True)
    try:
        toks_T, lps_T = _decode_loop(model, prompts, 10, 0.0, 1.0, 0, tok.pad_token_id, eos, cpu)
    finally:
        hook.remove()
    assert batch_sizes[1] == 8 and min(batch_sizes[1:]) < 8  # decode steps shrank once rows finished
    for b in range(8):
        row = free_T[b].tolist()
        n = row.index(eos) + 1 if eos in row else len(row)
        assert toks_T[b, :n].tolist() == row[:n]
        assert torch.allclose(lps_T[b, :n], free_lp[b, :n], atol=1e-5)
        assert all(t == tok.pad_token_id for t in toks_T[b, n:].tolist())  # pads after the end
