// node bench/local-lm/parallel.mjs — do parallel llama.cpp sequences (node-llama-cpp 3.21.1) answer
// as one at a time, and are they faster? 12 greedy replies (24 tokens at most) to arithmetic prompts,
// first one at a time on one sequence, then 4 at a time on N sequences of one context (node-llama-cpp
// decodes them in shared batches). Prints the replies that differ and both wall times.
// Settings (environment): N (4 sequences), THREADS (1, llama.cpp threads), MODE (reuse: each request
// reuses the sequence's cached prefix, as the server did; clear: the sequence's history is cleared first).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { getLlama, LlamaCompletion, JinjaTemplateChatWrapper } = await import(path.join(ROOT, 'node_modules/node-llama-cpp/dist/index.js'));
const gguf = execFileSync(path.join(ROOT, '.venv/bin/python'), ['-c', 'from gepa_rl_trainer.models import smollm2_gguf_path; print(smollm2_gguf_path())'], { env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') }, encoding: 'utf8' }).trim();
const N = Number(process.env.N ?? 4);
const THREADS = Number(process.env.THREADS ?? 1);
const MODE = process.env.MODE ?? 'reuse';
const llama = await getLlama({ gpu: false, build: 'never', maxThreads: THREADS, logLevel: 'error' });
const model = await llama.loadModel({ modelPath: gguf });
const tpl = new JinjaTemplateChatWrapper({ template: model.fileInfo.metadata.tokenizer.chat_template });
const ctx = await model.createContext({ contextSize: 2048, sequences: N, threads: THREADS });
const seqs = Array.from({ length: N }, () => ctx.getSequence());
const comps = seqs.map((s) => new LlamaCompletion({ contextSequence: s }));
const ids = Array.from({ length: 12 }, (_, i) =>
  tpl
    .generateContextState({
      chatHistory: [
        { type: 'system', text: i % 2 ? 'You are a calculator. Reply with only the number.' : 'Answer briefly and show the result last.' },
        { type: 'user', text: `What is ${i + 3} + ${2 * i + 1}? Answer with just the number.` },
        { type: 'model', response: [''] },
      ],
    })
    .contextText.tokenize(model.tokenizer),
);
async function reply(c, s, x) {
  if (MODE === 'clear') await s.clearHistory();
  return (await c.generateCompletionWithMeta(x, { repeatPenalty: false, maxTokens: 24, temperature: 0 })).response;
}
let t = Date.now();
const alone = [];
for (const x of ids) alone.push(await reply(comps[0], seqs[0], x));
const tAlone = Date.now() - t;
t = Date.now();
const together = new Array(ids.length);
let next = 0;
await Promise.all(
  comps.map(async (c, k) => {
    while (next < ids.length) {
      const i = next++;
      together[i] = await reply(c, seqs[k], ids[i]);
    }
  }),
);
const tTogether = Date.now() - t;
let same = 0;
for (let i = 0; i < ids.length; i++) {
  if (alone[i] === together[i]) same++;
  else console.log(`reply ${i} differs: alone ${JSON.stringify(alone[i])} | parallel ${JSON.stringify(together[i])}`);
}
console.log(`parallel sequences: N=${N} threads=${THREADS} mode=${MODE}: ${same}/${ids.length} replies equal to one at a time; one at a time ${tAlone} ms, ${N} at a time ${tTogether} ms (${(tAlone / tTogether).toFixed(2)}x)`);
process.exit(0);
