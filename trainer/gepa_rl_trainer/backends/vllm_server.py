"""The vLLM engine behind policy.sampler=vllm, as a small HTTP server on localhost.

It runs in its own venv (.venv-vllm: vllm pins transformers below the trainer's), started and
stopped by the trainer worker (vllm_sampler.py), which talks to it in token ids only. Standalone on
purpose: it imports nothing from gepa_rl_trainer, only vllm and the standard library.

  POST /generate      {prompts: [[id...]], n, max_tokens, temperature, top_p, seed, stop_token_ids,
                       lora: {path, rank} | null, weights: path | null}
                      -> {outputs: [[{token_ids, logprobs, finish_reason}] per sample] per prompt}
  POST /score         {prompt, completion, lora, weights} -> {logprobs} of the completion's tokens
  GET  /health        -> {ok, model}

Behaviour logprobs are vLLM's processed ones (logprobs_mode=processed_logprobs): of the distribution
each token was drawn from, after temperature and top-p, which is what the learner scores under.
LoRA checkpoints are served as adapters (LoRARequest, loaded on first use, one id per checkpoint
folder and its DONE stamp); a full fine-tune's weights are loaded into the running engine from the
checkpoint's model.safetensors when a request names another checkpoint (`weights`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def enforce_eager() -> bool:
    """GEPA_RL_VLLM_ENFORCE_EAGER: 1 (default, eager as on a CPU) or 0 (CUDA graphs); anything else is refused."""
    v = os.environ.get("GEPA_RL_VLLM_ENFORCE_EAGER", "1")
    if v not in ("0", "1"):
        raise SystemExit(f"GEPA_RL_VLLM_ENFORCE_EAGER must be 0 or 1 (got {v!r})")
    return v == "1"


def _load_weights_from(worker, path: str) -> int:
    """Run inside each vLLM worker (collective_rpc): the tensors of a safetensors file into the model."""
    from safetensors.torch import load_file

    tensors = load_file(path)
    # safetensors' save_model stores tied tensors once, possibly under lm_head's name only; vLLM
    # skips lm_head when the embeddings are tied, so the embeddings take it
    if "model.embed_tokens.weight" not in tensors and "lm_head.weight" in tensors:
        tensors["model.embed_tokens.weight"] = tensors.pop("lm_head.weight")
    runner = worker.model_runner
    if hasattr(runner, "reload_weights"):  # in place, undoing and redoing the kernels' weight layouts (the CPU backend repacks them)
        runner.reload_weights(weights_iterator=iter(tensors.items()))
    else:
        runner.model.load_weights(weights=iter(tensors.items()))
    return len(tensors)


class Engine:
    def __init__(self, model: str, max_lora_rank: int, max_model_len: int):
        from vllm import LLM

        kw = {}
        # on a GPU the engine takes this share of the device's memory (vLLM's default 0.9 leaves too
        # little for the learner the trainer worker holds on the same device); no effect on a CPU,
        # whose KV cache is VLLM_CPU_KVCACHE_SPACE
        if os.environ.get("GEPA_RL_VLLM_GPU_MEMORY_UTILIZATION"):
            kw["gpu_memory_utilization"] = float(os.environ["GEPA_RL_VLLM_GPU_MEMORY_UTILIZATION"])
        if max_lora_rank > 0:
            kw.update(enable_lora=True, max_lora_rank=max_lora_rank, max_loras=1)
        self.model = model
        self.llm = LLM(
            model=model,
            dtype=os.environ.get("GEPA_RL_VLLM_DTYPE", "float32"),
            enforce_eager=enforce_eager(),  # 0: CUDA graphs on a GPU
            max_model_len=max_model_len,
            logprobs_mode="processed_logprobs",
            generation_config="vllm",  # no sampling defaults or extra stop ids from the model folder
            seed=0,
            **kw,
        )
        self.lora_ids: dict[tuple[str, float], int] = {}
        self.weights: str | None = None  # the full fine-tune checkpoint loaded (None: the base's)

    def lora_request(self, lora: dict | None):
        if not lora:
            return None
        from vllm.lora.request import LoRARequest

        path = lora["path"]
        stamp = os.path.getmtime(os.path.join(path, "DONE")) if os.path.exists(os.path.join(path, "DONE")) else 0.0
        key = (path, stamp)
        if key not in self.lora_ids:
            self.lora_ids[key] = len(self.lora_ids) + 1
        return LoRARequest(f"ckpt{self.lora_ids[key]}", self.lora_ids[key], path)

    def use_weights(self, weights: str | None):
        """Load a full fine-tune's weights (or the base's again) into the engine when they differ."""
        if weights == self.weights:
            return
        path = os.path.join(weights, "model.safetensors") if weights else os.path.join(self.model, "model.safetensors")
        self.llm.collective_rpc(_load_weights_from, args=(path,))
        self.llm.reset_prefix_cache()
        self.weights = weights

    def generate(self, req: dict) -> dict:
        from vllm import SamplingParams, TokensPrompt

        self.use_weights(req.get("weights"))
        lora = self.lora_request(req.get("lora"))
        prompts, params = [], []
        for p, ids in enumerate(req["prompts"]):
            prompts.append(TokensPrompt(prompt_token_ids=list(ids)))
            params.append(
                SamplingParams(
                    n=int(req["n"]),
                    max_tokens=int(req["max_tokens"]),
                    temperature=float(req["temperature"]),
                    top_p=float(req["top_p"]),
                    seed=int(req["seed"]) + p,
                    stop_token_ids=list(req["stop_token_ids"]),
                    logprobs=0,
                    detokenize=False,
                )
            )
        outs = self.llm.generate(prompts, params, lora_request=lora, use_tqdm=False)
        result = []
        for out in outs:
            samples = []
            for c in sorted(out.outputs, key=lambda c: c.index):
                lps = [float(step[tid].logprob) for tid, step in zip(c.token_ids, c.logprobs)]
                samples.append({"token_ids": list(c.token_ids), "logprobs": lps, "finish_reason": c.finish_reason})
            result.append(samples)
        return {"outputs": result}

    def score(self, req: dict) -> dict:
        """Log-probabilities of a given completion's tokens after its prompt (temperature 1)."""
        from vllm import SamplingParams, TokensPrompt

        self.use_weights(req.get("weights"))
        prompt, completion = list(req["prompt"]), list(req["completion"])
        ids = prompt + completion
        sp = SamplingParams(max_tokens=1, temperature=1.0, prompt_logprobs=0, detokenize=False)
        out = self.llm.generate([TokensPrompt(prompt_token_ids=ids)], sp, lora_request=self.lora_request(req.get("lora")), use_tqdm=False)[0]
        lps = [float(out.prompt_logprobs[i][ids[i]].logprob) for i in range(len(prompt), len(ids))]
        return {"logprobs": lps}


def _exit_with_parent(parent_pid: int) -> None:
    """The trainer worker that started this server died (killed, crashed): exit too, freeing its memory."""
    while os.getppid() == parent_pid:
        time.sleep(2.0)
    os._exit(0)


def serve(engine: Engine, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_a):  # quiet: the trainer worker logs what matters
            pass

        def _reply(self, code: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                self._reply(200, {"ok": True, "model": engine.model, "pid": os.getpid()})
            else:
                self._reply(404, {"error": f"no route {self.path}"})

        def do_POST(self):
            route = {"/generate": engine.generate, "/score": engine.score}.get(self.path)
            if route is None:
                self._reply(404, {"error": f"no route {self.path}"})
                return
            try:
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self._reply(200, route(req))
            except Exception as e:  # noqa: BLE001 — the client turns it into a failed activity
                self._reply(500, {"error": f"{type(e).__name__}: {e}"})

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--max-lora-rank", type=int, default=0)
    ap.add_argument("--max-model-len", type=int, default=2048)
    ap.add_argument("--parent-pid", type=int, default=0)
    a = ap.parse_args()
    if a.parent_pid:
        threading.Thread(target=_exit_with_parent, args=(a.parent_pid,), daemon=True).start()
    t0 = time.time()
    engine = Engine(a.model, a.max_lora_rank, a.max_model_len)
    print(f"vllm_server: {a.model} loaded in {time.time() - t0:.1f}s, serving on 127.0.0.1:{a.port}", file=sys.stderr, flush=True)
    serve(engine, a.port)


if __name__ == "__main__":  # vLLM starts its workers by spawn: they import this file again
    main()
