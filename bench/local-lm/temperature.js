// Which reflection temperature suits the local model: node bench/local-lm/temperature.js URL [samples] [max_tokens]
// For each temperature, `samples` replies (seeds 1..samples) to the GEPA reflection prompt
// (bench/local-lm/prompt.txt) are parsed as GEPA parses them (dist/core/gepa); a proposal counts
// as usable when it is adopted (not truncated/empty/unchanged) and as on-task when it also talks
// about the task (answer / number / subtract / multiply / step / calculate) in under 1500 characters.
// Each request is the one GEPA's reflection activity sends the local server: the reply begun inside the
// fence (FENCE_PREFILL) and stopped at the closing one, then closed by closePrefilledReply.
const { closePrefilledReply, FENCE_PREFILL, parseReflectionReply } = require('../../dist/core/gepa');
const [url, samplesArg, maxArg] = process.argv.slice(2);
const samples = Number(samplesArg ?? 6);
const maxTokens = Number(maxArg ?? 256);
const prompt = require('node:fs').readFileSync(require('node:path').join(__dirname, 'prompt.txt'), 'utf8');
const current = 'You are a helpful assistant. Solve the problem and give the final answer.';
const ON_TASK = /answer|number|subtract|multipl|step|calculat/i;

(async () => {
  const lines = [];
  for (const t of [0, 0.3, 0.7, 1.0]) {
    let usable = 0, onTask = 0, truncated = 0, tokens = 0;
    const texts = new Set();
    for (let s = 1; s <= samples; s++) {
      const res = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'smollm2-135m-instruct',
          messages: [{ role: 'user', content: prompt }, { role: 'assistant', content: FENCE_PREFILL }],
          stop: ['```'],
          include_stop_str_in_output: true,
          max_tokens: maxTokens,
          temperature: t,
          seed: s,
        }),
      });
      const b = await res.json();
      const c = b.choices[0];
      tokens += b.usage.completion_tokens;
      const p = parseReflectionReply(closePrefilledReply(FENCE_PREFILL + c.message.content, c.finish_reason), current, { finishReason: c.finish_reason });
      if (!p.ok && p.reason === 'truncated') truncated++;
      if (p.ok) {
        usable++;
        texts.add(p.text);
        if (ON_TASK.test(p.text) && p.text.length < 1500) onTask++;
      }
      console.log(`T=${t} seed ${s}: ${p.ok ? 'adopted' : p.reason} (${b.usage.completion_tokens} tokens) ${JSON.stringify(p.text.slice(0, 120))}`);
    }
    lines.push(`T=${t}: usable ${usable}/${samples}, on-task ${onTask}/${samples}, truncated ${truncated}, distinct proposals ${texts.size}, mean ${(tokens / samples).toFixed(0)} tokens`);
  }
  console.log(lines.join('\n'));
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
