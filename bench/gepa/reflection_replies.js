#!/usr/bin/env node
/**
 * bench/gepa: the local reflection call measured on its own, on real reflection prompts, before and
 * after the proposal grammar (core/gepa proposalGrammar): for each setting, usable replies / total,
 * why the others were rejected, completion and prompt tokens per call, seconds per call, and the val
 * score of each usable proposal (the policy run greedily on the val set, as the bench's runs do).
 *
 * The prompts are the ones a GEPA run of the bench builds in its first iterations: the seed prompt
 * run greedily on minibatches of 3 train examples of the bench's arithmetic task (same data, policy,
 * grader feedback and reflection template; the code of dist/), minibatches with a failure only.
 *   node bench/gepa/reflection_replies.js            (the local server at GEPA_RL_LM_PORT, 8765)
 * Knobs (env): REFLECT_CONFIGS ("free:160:1,grammar:160:1": mode:max_tokens:temperature, mode free =
 * begun inside the fence only, as before; grammar = also constrained), REFLECT_PROMPTS (4),
 * REFLECT_SEEDS (5), REFLECT_VAL (1: score usable proposals on val), REFLECT_OUT (a JSON file),
 * REFLECT_TEMPLATE (a file holding a reflection template to use instead of the default).
 */
const fs = require('node:fs');
const path = require('node:path');
const ROOT = path.resolve(__dirname, '../..');
const { taskConfigSchema } = require(path.join(ROOT, 'dist/config/task'));
const { getTask } = require(path.join(ROOT, 'dist/tasks'));
const { createProvider } = require(path.join(ROOT, 'dist/llm'));
const { afterFirstReply, buildReflectionPrompt, firstTurn } = require(path.join(ROOT, 'dist/core/gepa'));

const env = process.env;
const BASE = env.GEPA_RL_LOCAL_LM_URL ?? `http://127.0.0.1:${env.GEPA_RL_LM_PORT ?? '8765'}/v1`;
const MODEL = env.GEPA_RL_LM_MODEL ?? 'smollm2-135m-instruct';
const SEED_PROMPT = env.GEPA_BENCH_SEED_PROMPT ?? 'You are a helpful assistant. Solve the problem and give the final answer.';
const CONFIGS = (env.REFLECT_CONFIGS ?? 'free:160:1,grammar:160:1').split(',').map((s) => {
  const [mode, mt, t] = s.split(':');
  if (!['free', 'grammar'].includes(mode) || !(+mt > 0) || !(+t >= 0)) throw new Error(`REFLECT_CONFIGS entry must be free|grammar:max_tokens:temperature (got ${JSON.stringify(s)})`);
  return { mode, max_tokens: +mt, temperature: +t };
});
const N_PROMPTS = +(env.REFLECT_PROMPTS ?? 4);
const N_SEEDS = +(env.REFLECT_SEEDS ?? 5);
const SCORE_VAL = (env.REFLECT_VAL ?? '1') === '1';
// a reflection template to try instead of the default (a file; the placeholders of gepa.reflection_template)
const TEMPLATE = env.REFLECT_TEMPLATE ? fs.readFileSync(env.REFLECT_TEMPLATE, 'utf8') : undefined;

async function main() {
  const cfg = taskConfigSchema.parse({ env: 'arithmetic', n_train: 40, n_val: 8, n_test: 16, data_seed: 0, arithmetic_digits: 1, arithmetic_operators: '+' });
  const task = getTask(cfg);
  const { train, val } = await task.loadSplits(cfg);
  const lm = createProvider({ provider: 'local', model: MODEL, base_url: BASE });
  const answer = async (system, x) => (await lm.complete({ messages: [{ role: 'system', content: system }, ...task.render(x)], max_tokens: 16, temperature: 0 })).texts[0] ?? '';
  const valScore = async (system) => {
    let s = 0;
    for (const x of val) s += task.score(x, await answer(system, x)).reward;
    return s / val.length;
  };
  // the first minibatches with a failure, as GEPA's first iterations see them (perfect ones are skipped)
  const prompts = [];
  for (let i = 0; i + 3 <= train.length && prompts.length < N_PROMPTS; i += 3) {
    const records = [];
    for (const x of train.slice(i, i + 3)) {
      const output = await answer(SEED_PROMPT, x);
      const s = task.score(x, output);
      records.push({ input: task.render(x).map((m) => m.content).join('\n'), output, reward: s.reward, feedback: s.feedback });
    }
    if (records.every((r) => r.reward >= 1)) continue;
    prompts.push(buildReflectionPrompt({ component: 'system_prompt', current_text: SEED_PROMPT, records, rejected: [], template: TEMPLATE }));
  }
  const seedVal = SCORE_VAL ? await valScore(SEED_PROMPT) : null;
  console.log(`${prompts.length} reflection prompts (${prompts.map((p) => p.length).join(', ')} characters), ${N_SEEDS} seeds each; seed prompt val ${seedVal}; server ${BASE}`);
  const rows = [];
  for (const c of CONFIGS) {
    const calls = [];
    for (const [pi, prompt] of prompts.entries()) {
      for (let seed = 0; seed < N_SEEDS; seed++) {
        const turn = firstTurn(prompt, { prefill: true, grammar: c.mode === 'grammar' }, c.max_tokens);
        const t0 = Date.now();
        const res = await lm.complete({ ...turn, max_tokens: c.max_tokens, temperature: c.temperature, seed });
        const secs = (Date.now() - t0) / 1000;
        const { parsed } = afterFirstReply(prompt, { text: res.texts[0] ?? '', finish_reason: res.finish_reasons[0] }, SEED_PROMPT, { fence_repair: false, supports_prefill: true });
        const copied = parsed.ok && /#### |Inputs|Generated Outputs|### Example/.test(parsed.text);
        const val = parsed.ok && SCORE_VAL ? await valScore(parsed.text) : null;
        calls.push({ prompt: pi, seed, ok: parsed.ok, reason: parsed.ok ? null : parsed.reason, copied, val, secs, prompt_tokens: res.usage.prompt_tokens, completion_tokens: res.usage.completion_tokens, finish: res.finish_reasons[0], chars: parsed.text.length, text: parsed.text.slice(0, 300) });
        process.stderr.write(`${c.mode}:${c.max_tokens}:${c.temperature} p${pi} s${seed}: ${parsed.ok ? 'ok' : parsed.reason} ${res.usage.completion_tokens} tok ${secs.toFixed(1)} s val ${val} ${JSON.stringify(parsed.text.slice(0, 80))}\n`);
      }
    }
    const n = calls.length;
    const ok = calls.filter((x) => x.ok);
    const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    const reasons = {};
    for (const x of calls) if (!x.ok) reasons[x.reason] = (reasons[x.reason] ?? 0) + 1;
    const row = {
      ...c,
      usable: ok.length,
      total: n,
      rejected: reasons,
      copied_examples: ok.filter((x) => x.copied).length,
      completion_tokens_per_call: mean(calls.map((x) => x.completion_tokens)),
      prompt_tokens_per_call: mean(calls.map((x) => x.prompt_tokens)),
      seconds_per_call: mean(calls.map((x) => x.secs)),
      usable_val_mean: SCORE_VAL ? mean(ok.map((x) => x.val)) : null,
      usable_above_seed: SCORE_VAL ? ok.filter((x) => x.val > seedVal).length : null,
      calls,
    };
    rows.push(row);
    const rej = Object.entries(reasons).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    console.log(`${c.mode.padEnd(7)} max_tokens ${c.max_tokens} temperature ${c.temperature}: usable ${ok.length}/${n} (rejected: ${rej}; ${row.copied_examples} usable copy the examples), ${row.completion_tokens_per_call.toFixed(1)} completion / ${row.prompt_tokens_per_call.toFixed(0)} prompt tokens per call, ${row.seconds_per_call.toFixed(2)} s per call` + (SCORE_VAL ? `; usable proposals' val mean ${row.usable_val_mean.toFixed(3)}, ${row.usable_above_seed} above the seed's ${seedVal}` : ''));
  }
  if (env.REFLECT_OUT) fs.writeFileSync(env.REFLECT_OUT, JSON.stringify({ seed_val: seedVal, prompts, rows }, null, 1));
}

main().catch((e) => {
  console.error(`reflection_replies: ${e.stack ?? e.message}`);
  process.exit(1);
});
