// node bench/local-lm/slots.js [config ...]   config = SLOTSxTHREADS (default: 1x1 2x1 1x2)
// The local server's slots (src/llm/localServer.ts: independent llama.cpp contexts, one request at
// a time each): for each config a fresh server (run from src/ through test/cli/tsRegister.js) gets
//  - a policy batch: 16 greedy bench/gepa-like policy calls (system prompt + one arithmetic question,
//    max_tokens 16) sent all at once, as GEPA's evaluations send them; calls/s over the batch;
//  - reflection latency: one reflection call alone (bench/local-lm/prompt.txt, a distinct first line
//    so no cached prompt, greedy, max_tokens 64);
//  - the replies of the policy batch compared with the same requests one at a time on a fresh
//    one-slot server of the same threads (greedy replies must not depend on what runs beside them).
// Rounds (ROUNDS, default 2) alternate the configs, so each sees the machine's load in turn.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');

const ROOT = path.resolve(__dirname, '../..');
const MODEL = 'smollm2-135m-instruct';
const configs = (process.argv.slice(2).length ? process.argv.slice(2) : ['1x1', '2x1', '1x2']).map((c) => {
  const m = /^(\d+)x(\d+)$/.exec(c);
  if (!m) throw new Error(`config must be SLOTSxTHREADS, e.g. 2x1 (got ${JSON.stringify(c)})`);
  return { slots: Number(m[1]), threads: Number(m[2]) };
});
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const N_POLICY = Number(process.env.N_POLICY ?? 16);
const gguf = execFileSync(path.join(ROOT, '.venv/bin/python'), ['-c', 'from gepa_rl_trainer.models import smollm2_gguf_path; print(smollm2_gguf_path())'], {
  env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') },
  encoding: 'utf8',
}).trim();
const reflection = fs.readFileSync(path.join(__dirname, 'prompt.txt'), 'utf8');

async function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startServer(slots, threads) {
  const port = await freePort();
  const proc = spawn(process.execPath, ['-r', './test/cli/tsRegister.js', 'src/llm/localServer.ts', '--gguf', gguf, '--port', String(port), '--slots', String(slots), '--threads', String(threads)], { cwd: ROOT });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('local LM server ready')) clearInterval(t), resolve();
      if (proc.exitCode !== null) clearInterval(t), reject(new Error(out));
    }, 100);
  });
  return { url: `http://127.0.0.1:${port}/v1`, stop: () => new Promise((r) => (proc.once('exit', r), proc.kill('SIGTERM'))) };
}

async function chat(url, body) {
  const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, ...body }) });
  const j = await res.json();
  if (!res.ok) throw new Error(JSON.stringify(j));
  return j.choices[0].message.content;
}

const policyBody = (i) => ({
  messages: [
    { role: 'system', content: 'You are a helpful assistant. Solve the problem and give the final answer.' },
    { role: 'user', content: `What is ${(i * 7) % 10} + ${(i * 3 + 4) % 10}? Answer with just the number.` },
  ],
  max_tokens: 16,
  temperature: 0,
});
let reflections = 0;
const reflectionBody = () => ({ messages: [{ role: 'user', content: `Request ${reflections++}.\n${reflection}` }], max_tokens: 64, temperature: 0 });

(async () => {
  const alone = {};
  const rows = configs.map(() => ({ policy: [], reflection: [], equal: 0, total: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, c] of configs.entries()) {
      if (!alone[c.threads]) {
        // the replies served one at a time, on a fresh one-slot server of the same threads
        const s = await startServer(1, c.threads);
        alone[c.threads] = [];
        for (let i = 0; i < N_POLICY; i++) alone[c.threads].push(await chat(s.url, policyBody(i)));
        await s.stop();
      }
      const s = await startServer(c.slots, c.threads);
      await chat(s.url, policyBody(99)); // warm-up
      let t = performance.now();
      const replies = await Promise.all(Array.from({ length: N_POLICY }, (_, i) => chat(s.url, policyBody(i))));
      const policyS = (performance.now() - t) / 1000;
      t = performance.now();
      await chat(s.url, reflectionBody());
      const reflS = (performance.now() - t) / 1000;
      await s.stop();
      const eq = replies.filter((r, i) => r === alone[c.threads][i]).length;
      rows[k].policy.push(policyS);
      rows[k].reflection.push(reflS);
      rows[k].equal += eq;
      rows[k].total += N_POLICY;
      const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      console.log(`round ${round} slots=${c.slots} threads=${c.threads}: policy batch ${N_POLICY} calls in ${policyS.toFixed(2)} s (${(N_POLICY / policyS).toFixed(2)} calls/s), reflection alone ${reflS.toFixed(2)} s, ${eq}/${N_POLICY} replies equal to one at a time (load ${load})`);
    }
  }
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const base = N_POLICY * ROUNDS / sum(rows[0].policy);
  for (const [k, c] of configs.entries()) {
    const r = rows[k];
    const cps = (N_POLICY * ROUNDS) / sum(r.policy);
    console.log(`slots bench: slots=${c.slots} threads=${c.threads}: policy ${cps.toFixed(2)} calls/s (${(cps / base).toFixed(2)}x ${configs[0].slots}x${configs[0].threads}), reflection ${(sum(r.reflection) / ROUNDS).toFixed(2)} s a call, replies equal ${r.equal}/${r.total}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
