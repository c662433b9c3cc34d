/**
 * Settings accepted and never read (issue 23): each is refused when the input is parsed, by
 * parseWorkflowInput (what `temporal workflow start` and every workflow get) and so by the CLI,
 * naming the key, why nothing would read it, and what was received.
 */
import { prepareExperiment } from '../../src/cli/main';
import { configIssues } from '../helpers/configIssues';

const refusals = configIssues;

const tau2 = { env: 'tau2-airline' };

test('task.tau2_* with another task is refused, naming the task it got', () => {
  expect(refusals('gepaOptimization', { task: { env: 'gsm8k', tau2_user_model: 'gpt-4o' } })).toEqual([
    'task.tau2_user_model: gepaOptimization does not read task.tau2_user_model here: read only with task.env=tau2-airline (got gsm8k); got "gpt-4o"',
  ]);
  expect(refusals('evaluation', { task: { tau2_max_steps: 50, tau2_agent_max_tokens: 99 } }).map((m) => m.split(':')[0])).toEqual(['task.tau2_agent_max_tokens', 'task.tau2_max_steps']);
  expect(refusals('gepaOptimization', { task: { ...tau2, tau2_user_model: 'gpt-4o' } })).toEqual([]);
});

test('policy.max_tokens and policy.top_p with tau2-airline are refused (its agent takes tau2_agent_max_tokens and sends no top_p)', () => {
  expect(refusals('gepaOptimization', { task: tau2, policy: { max_tokens: 64, top_p: 0.9 } })).toEqual([
    'policy.max_tokens: gepaOptimization does not read policy.max_tokens here: not read with task.env=tau2-airline: its agent turns take task.tau2_agent_max_tokens and are sent no top_p; got 64',
    'policy.top_p: gepaOptimization does not read policy.top_p here: not read with task.env=tau2-airline: its agent turns take task.tau2_agent_max_tokens and are sent no top_p; got 0.9',
  ]);
  expect(refusals('evaluation', { task: tau2, policy: { max_tokens: 64 } })).toHaveLength(1);
  expect(refusals('gepaOptimization', { task: { env: 'gsm8k' }, policy: { max_tokens: 64, top_p: 0.9 } })).toEqual([]);
});

test('policy.top_p with temperature 0 is refused (greedy decoding ignores the nucleus)', () => {
  expect(refusals('rlTraining', { policy: { temperature: 0, top_p: 0.5 } })).toEqual([
    'policy.top_p: rlTraining does not read policy.top_p here: not read with policy.temperature=0 (greedy decoding takes the most likely token whatever the nucleus); got 0.5',
  ]);
  expect(refusals('rlTraining', { policy: { temperature: 0.7, top_p: 0.5 } })).toEqual([]);
});

test('reflection.* with gepa.debug=true is refused (the debug reflector calls no LM); a provider-filled default is not', () => {
  expect(refusals('gepaOptimization', { gepa: { debug: true }, reflection: { provider: 'openai', model: 'gpt-4o' } })).toEqual([
    'reflection.provider: gepaOptimization does not read reflection.provider here: not read with gepa.debug=true (the deterministic reflector calls no LM); got "openai"',
    'reflection.model: gepaOptimization does not read reflection.model here: not read with gepa.debug=true (the deterministic reflector calls no LM); got "gpt-4o"',
  ]);
  expect(refusals('gepaRlAlternation', { gepa: { debug: true }, reflection: { temperature: 0.2 } })).toHaveLength(1);
  // the same reflection without debug is read
  expect(refusals('gepaOptimization', { reflection: { provider: 'openai', model: 'gpt-4o' } })).toEqual([]);
});

test('gepa.max_merge_invocations without use_merge is refused', () => {
  expect(refusals('gepaOptimization', { gepa: { max_merge_invocations: 2 } })).toEqual([
    'gepa.max_merge_invocations: gepaOptimization does not read gepa.max_merge_invocations here: read only with gepa.use_merge=true; got 2',
  ]);
  expect(refusals('gepaRlAlternation', { gepa: { max_merge_invocations: 2 } })).toHaveLength(1);
  expect(refusals('gepaOptimization', { gepa: { max_merge_invocations: 2, use_merge: true } })).toEqual([]);
});

test('n_eval in gepa without eval_test is refused; the alternation reads it for its training phases', () => {
  expect(refusals('gepaOptimization', { n_eval: 10 })).toEqual([
    'n_eval: gepaOptimization does not read n_eval here: read only with gepa.eval_test=true (GEPA scores the test split only then); got 10',
  ]);
  expect(refusals('gepaOptimization', { n_eval: 10, gepa: { eval_test: true } })).toEqual([]);
  expect(refusals('gepaRlAlternation', { n_eval: 10 })).toEqual([]);
});

test('found by the every-key test: sft.traces_file without source=traces, rl.drop_constant_reward_groups, gepa.component_selector in gepa-rl', () => {
  expect(refusals('sftTraining', { sft: { traces_file: '/tmp/t.jsonl' } })).toEqual([
    'sft.traces_file: sftTraining does not read sft.traces_file here: read only with sft.source=traces (got reference); got "/tmp/t.jsonl"',
  ]);
  expect(refusals('rlTraining', { rl: { drop_constant_reward_groups: true } })[0]).toMatch(/^rl\.drop_constant_reward_groups: .*a group whose rewards are all equal has advantage 0 for every sample with or without it/);
  expect(refusals('gepaRlAlternation', { gepa: { component_selector: 'all' } })).toEqual([
    'gepa.component_selector: gepaRlAlternation does not read gepa.component_selector: the alternation evolves a single system prompt: there is one component to rewrite',
  ]);
  expect(refusals('gepaOptimization', { gepa: { component_selector: 'all' } })).toEqual([]);
  expect(refusals('gepaOptimization', { gepa: { seed_prompt: 'S', components: { system_prompt: 'A', style: 'B' } } })).toEqual([
    "gepa.seed_prompt: gepaOptimization does not read gepa.seed_prompt here: not read when gepa.components has system_prompt (that is the seed candidate's system prompt); got \"S\"",
  ]);
  expect(refusals('gepaOptimization', { gepa: { seed_prompt: 'S', components: { style: 'B' } } })).toEqual([]);
});

test.each([
  ['rlTraining', /RL would train nothing/],
  ['gepaRlAlternation', /its RL phases would train nothing/],
  ['expertIteration', /every problem would be skipped/],
  ['traceGeneration', /every problem would be skipped/],
  ['sftTraining', /every problem would be skipped/],
] as const)('%s refuses tau2-airline at parse time, saying why', (type, why) => {
  const [msg, ...rest] = refusals(type, { task: tau2 });
  expect(rest).toEqual([]);
  expect(msg).toMatch(new RegExp(`^task\\.env: ${type} cannot run task\\.env=tau2-airline: `));
  expect(msg).toMatch(why);
  expect(msg).toMatch(/got "tau2-airline"$/);
});

test('the workflows that run tau2-airline still accept it', () => {
  expect(refusals('gepaOptimization', { task: tau2 })).toEqual([]);
  expect(refusals('evaluation', { task: tau2 })).toEqual([]);
});

test('the CLI refuses the same before connecting: `gepa-rl rl env=tau2-airline`, `gepa-rl gepa debug=True reflection_model=gpt-4o`', () => {
  expect(() => prepareExperiment('rl', ['env=tau2-airline', '--detach'])).toThrow(/rlTraining cannot run task\.env=tau2-airline/);
  expect(() => prepareExperiment('gepa-rl', ['env=tau2-airline', '--detach'])).toThrow(/gepaRlAlternation cannot run task\.env=tau2-airline/);
  expect(() => prepareExperiment('gepa', ['debug=true', 'reflection.model=gpt-4o', '--detach'])).toThrow(/reflection\.model: .*not read with gepa\.debug=true/);
});
