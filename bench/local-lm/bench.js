// Tokens/s at batch 1 of one or two OpenAI-compatible servers on the same prompt, interleaved so both
// see the same machine load: node bench/local-lm/bench.js URL_A NAME_A [URL_B NAME_B] [reps] [max_tokens]
// Each request is one reply (n=1) at temperature 0 to a GEPA reflection prompt (bench/local-lm/prompt.txt,
// 373 tokens); tokens/s is the server's completion_tokens over the request's wall time (prompt
// processing included). With one server, the summary compares it with the recorded rate of the
// PyTorch server this bench used to start beside it (deleted since), where the settings match.
const args = process.argv.slice(2);
const [urlA, nameA] = args;
const two = args.length > 2 && /^https?:/.test(args[2]);
const [urlB, nameB, repsArg, maxArg] = two ? args.slice(2) : [null, null, ...args.slice(2)];
const reps = Number(repsArg ?? 3);
const maxTokens = Number(maxArg ?? 128);
// GEPA_RL_BENCH_PROMPT=count: a prompt both servers answer up to max_tokens (pure decode speed)
const promptFile = process.env.GEPA_RL_BENCH_PROMPT === 'count' ? 'prompt-count.txt' : 'prompt.txt';
const prompt = require('node:fs').readFileSync(require('node:path').join(__dirname, promptFile), 'utf8');

let calls = 0;
async function once(url) {
  // a distinct first line per request: no server reuses a cached prompt, so prompt processing is timed too
  const content = `Request ${calls++}.\n${prompt}`;
  const t0 = performance.now();
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'smollm2-135m-instruct', messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0, seed: 1 }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  const s = (performance.now() - t0) / 1000;
  return { s, prompt_tokens: body.usage.prompt_tokens, tokens: body.usage.completion_tokens, finish: body.choices[0].finish_reason };
}

// The previous PyTorch server (python -m gepa_rl_trainer.server, the GGUF dequantised to fp32), measured
// by this bench beside llama.cpp on the quiet machine, 2026-12-01: GEPA_RL_BENCH_PROMPT=count, 3
// requests of 128 tokens (bench/local-lm/README.md).
const RECORDED = { name: 'pytorch (recorded 2026-12-01)', promptFile: 'prompt-count.txt', maxTokens: 128, tps: 10.8 };

(async () => {
  const servers = two ? [[urlA, nameA], [urlB, nameB]] : [[urlA, nameA]];
  const rows = Object.fromEntries(servers.map(([, name]) => [name, []]));
  for (const [url] of servers) await once(url); // warm-up (first-call allocation)
  for (let r = 0; r < reps; r++) {
    for (const [url, name] of r % 2 ? [...servers].reverse() : servers) {
      const o = await once(url);
      rows[name].push(o);
      console.log(`${name} rep ${r}: ${o.tokens} tokens (prompt ${o.prompt_tokens}, finish ${o.finish}) in ${o.s.toFixed(2)} s = ${(o.tokens / o.s).toFixed(1)} tok/s`);
    }
  }
  // over all requests: total completion tokens / total wall time (a reply that stops early counts its few tokens)
  const tps = (name) => rows[name].reduce((a, o) => a + o.tokens, 0) / rows[name].reduce((a, o) => a + o.s, 0);
  const a = tps(nameA);
  const setting = `${reps} requests each, batch 1, ${promptFile}, max_tokens ${maxTokens}`;
  if (two) {
    const b = tps(nameB);
    console.log(`local-lm bench: ${nameA} ${a.toFixed(1)} tok/s, ${nameB} ${b.toFixed(1)} tok/s (${setting}); ratio ${nameA}/${nameB} ${(a / b).toFixed(2)}x`);
  } else if (promptFile === RECORDED.promptFile && maxTokens === RECORDED.maxTokens) {
    console.log(`local-lm bench: ${nameA} ${a.toFixed(1)} tok/s (${setting}); ${RECORDED.name} ${RECORDED.tps} tok/s; ratio ${(a / RECORDED.tps).toFixed(2)}x`);
  } else {
    console.log(`local-lm bench: ${nameA} ${a.toFixed(1)} tok/s (${setting}); the recorded PyTorch rate is for ${RECORDED.promptFile}, max_tokens ${RECORDED.maxTokens} (GEPA_RL_BENCH_PROMPT=count)`);
  }
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
