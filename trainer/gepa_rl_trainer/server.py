"""python -m gepa_rl_trainer.server — a local OpenAI-compatible server for the local model.

GET /health, GET /v1/models, POST /v1/chat/completions (non-streaming). The `local` reflection and
teacher provider talks to it with the same `openai` client code as the real providers (DESIGN §2).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .backends.local import LocalBackend
from .backends.sampling import generate
from .datums import chat_prompt_ids
from .errors import InvalidRequest


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def apply_stops(text: str, finish: str, stops: list, include_stop: bool) -> tuple[str, str]:
    """Cut the text at the earliest stop string (kept when include_stop_str_in_output, vLLM's name)."""
    hits = [(text.index(st), st) for st in stops if isinstance(st, str) and st and st in text]
    if not hits:
        return text, finish
    at, st = min(hits)
    return text[: at + (len(st) if include_stop else 0)], "stop"


class LmService:
    def __init__(self, model: str):
        self.model = model
        self.backend = LocalBackend()
        self.lock = threading.Lock()
        self.model_ref = {"backend": "local", "base_model": model, "lora_rank": 0}

    def load(self):
        self.backend.tokenizer(self.model)
        self.backend.live_model(self.model_ref, None)

    def chat(self, body: dict) -> dict:
        if body.get("stream"):
            raise ApiError(400, "stream=true is not supported by the local server; send stream=false")
        model = body.get("model", self.model)
        if model != self.model:
            raise ApiError(404, f"model {model!r} is not served here (serving {self.model!r})", "not_found_error")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in msgs):
            raise ApiError(400, f"messages must be a non-empty list of {{role, content}} objects (got {json.dumps(msgs)[:200]})")
        try:
            max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 256)
            n = int(body.get("n") or 1)
            temperature = float(body.get("temperature", 1.0))
            top_p = float(body.get("top_p", 1.0))
            seed = int(body.get("seed") or 0)
        except (TypeError, ValueError) as e:
            raise ApiError(400, f"bad sampling parameter: {e}") from e
        if not (1 <= n <= 16) or max_tokens < 1:
            raise ApiError(400, f"n must be 1..16 and max_tokens >= 1 (got n={n}, max_tokens={max_tokens})")
        with self.lock:
            tok = self.backend.tokenizer(self.model)
            live = self.backend.live_model(self.model_ref, None)
            # A trailing assistant message is a prefill: the reply continues it (the returned content
            # excludes it), as Anthropic's API and vLLM's continue_final_message do.
            prefill = msgs[-1]["content"] if msgs[-1].get("role") == "assistant" and len(msgs) > 1 else ""
            convo = msgs[:-1] if prefill else msgs
            ids = chat_prompt_ids(tok, [{"role": m.get("role", "user"), "content": m["content"]} for m in convo])
            if prefill:
                ids = ids + tok(prefill, add_special_tokens=False)["input_ids"]
            ctx = int(getattr(live.model.config, "max_position_embeddings", 2048))
            if len(ids) + max_tokens > ctx:
                raise ApiError(413, f"prompt is {len(ids)} tokens; with max_tokens={max_tokens} it exceeds the context of {ctx}")
            outs = generate(live.model, tok, [ids], [(0, s) for s in range(n)], max_tokens, temperature, top_p, seed, self.backend.device)
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else stops
        include_stop = bool(body.get("include_stop_str_in_output"))
        choices = []
        for i, o in enumerate(outs):
            text, finish = apply_stops(o["text"], o["stop_reason"], stops, include_stop)
            choices.append({"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish})
        completion_tokens = sum(len(o["token_ids"]) for o in outs)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": choices,
            "usage": {"prompt_tokens": len(ids), "completion_tokens": completion_tokens, "total_tokens": len(ids) + completion_tokens},
        }


def make_handler(service: LmService):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, obj: dict, tokens: int = 0, t0: float | None = None):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            took = f"{time.time() - t0:.2f}s" if t0 else "-"
            print(f"{self.command} {self.path} {status} tokens={tokens} {took}", flush=True)

        def _error(self, e: ApiError):
            self._send(e.status, {"error": {"message": e.message, "type": e.kind, "code": e.status}})

        def log_message(self, *args):  # one line per request is printed by _send
            pass

        def do_GET(self):
            if self.path == "/health":
                return self._send(200, {"status": "ok", "model": service.model})
            if self.path in ("/v1/models", "/models"):
                return self._send(200, {"object": "list", "data": [{"id": service.model, "object": "model", "owned_by": "gepa-rl"}]})
            self._error(ApiError(404, f"no route GET {self.path}", "not_found_error"))

        def do_POST(self):
            t0 = time.time()
            if self.path not in ("/v1/chat/completions", "/chat/completions"):
                return self._error(ApiError(404, f"no route POST {self.path}", "not_found_error"))
            try:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except json.JSONDecodeError as e:
                    raise ApiError(400, f"request body is not JSON: {e}") from e
                if not isinstance(body, dict):
                    raise ApiError(400, f"request body must be a JSON object (got {type(body).__name__})")
                res = service.chat(body)
                self._send(200, res, res["usage"]["completion_tokens"], t0)
            except ApiError as e:
                self._error(e)
            except InvalidRequest as e:
                self._error(ApiError(400, str(e)))
            except Exception as e:  # noqa: BLE001
                self._error(ApiError(500, f"internal error: {e}", "server_error"))

    return Handler


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    args = ap.parse_args(argv)
    service = LmService(args.model)
    try:
        httpd = ThreadingHTTPServer((args.host, args.port), make_handler(service))
    except OSError as e:
        print(f"cannot listen on {args.host}:{args.port}: {e}. Port {args.port} is in use: stop the other process (`make down`) or pass --port.", file=sys.stderr, flush=True)
        return 2
    service.load()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
    print(f"local LM server ready on http://{args.host}:{args.port}/v1 (model {args.model})", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
