/**
 * Every accepted setting is read (issue 11): a key a workflow does not read is refused before start,
 * by the CLI (no server needed) and by the workflow's own input schema (so `temporal workflow start`
 * fails too), naming the key and the workflow, and the key that does what was meant when one does.
 * `gepa-rl help <command>` lists exactly the keys the command's schema accepts.
 */
import { COMMANDS, helpText, parseOverrides } from '../../src/cli/args';
import { ConfigError, leavesOf, parseWorkflowInput, WORKFLOW_INPUT_SCHEMAS } from '../../src/config';
import { prepareExperiment } from '../../src/cli/main';

/** Per command: keys other commands have that this one never reads, and a fragment of the refusal. */
const UNREAD: Record<keyof typeof COMMANDS, Array<[string, RegExp]>> = {
  'eval-prompt': [['group_size=8', /rl\.group_size/], ['api_model=gpt-4o', /policy\.api_model/], ['max_metric_calls=9', /gepa\.max_metric_calls/]],
  rl: [['api_model=gpt-4o', /policy\.api_model/], ['minibatch_size=3', /gepa\.minibatch_size/], ['sft_epochs=2', /expert\.sft_epochs/]],
  gepa: [['group_size=8', /rl\.group_size/], ['n_eval_test=3', /gepa\.n_eval_test: it was renamed n_eval/], ['beta1=0.5', /optim\.beta1/]],
  'gepa-rl': [
    ['max_iterations=9', /gepa\.max_iterations: the iterations of each GEPA phase are alternation\.gepa_iterations/],
    ['n_batches=3', /rl\.n_batches: the batches of each RL phase are alternation\.rl_batches_per_round/],
    ['expert.n_rounds=2', /expert\.n_rounds: the rounds of each expert phase are alternation\.expert_rounds_per_round/],
    ['traces_per_iteration=2', /alternation\.traces_per_iteration: it was renamed gepa\.minibatch_size/],
    ['alternation.format_guard=true', /alternation\.format_guard: it was renamed gepa\.format_guard/],
    ['start_batch=4', /start_batch/],
  ],
  'expert-iteration': [
    ['learning_rate=5e-4', /rl\.learning_rate: the distillation's learning rate is expert\.sft_learning_rate/],
    ['group_size=8', /rl\.group_size/],
    ['api_model=gpt-4o', /policy\.api_model/],
  ],
  sft: [['group_size=8', /rl\.group_size/], ['loss=ppo', /rl\.loss/], ['n_batches=3', /rl\.n_batches/], ['learning_rate_x=1', /unknown key/]],
  evaluate: [['group_size=8', /rl\.group_size/], ['n_eval=3', /n_eval/]],
  traces: [['group_size=8', /rl\.group_size/], ['beta1=0.5', /optim\.beta1/]],
  'fast-slow': [['max_metric_calls=9', /gepa\.max_metric_calls/], ['start_batch=4', /start_batch/], ['sft_epochs=2', /expert\.sft_epochs/]],
};

test.each(Object.keys(UNREAD) as Array<keyof typeof COMMANDS>)('the CLI refuses, before connecting, keys that %s does not read', (command) => {
  const type = COMMANDS[command];
  for (const [arg, why] of UNREAD[command]) {
    let err: Error | null = null;
    try {
      prepareExperiment(command, [arg, '--detach']); // would only connect after validating
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('OverrideError');
    expect(err!.message).toMatch(why);
    if (!/unknown key/.test(err!.message)) expect(err!.message).toContain(`${command}: ${type} does not read`);
  }
});

test('the workflow input schema refuses the same keys, each named with the workflow (what `temporal workflow start` gets)', () => {
  const refusals = (type: keyof typeof WORKFLOW_INPUT_SCHEMAS, raw: unknown) => {
    try {
      parseWorkflowInput(type as any, raw);
    } catch (e) {
      return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    return [];
  };
  expect(refusals('sftTraining', { rl: { group_size: 8, n_eval: 2 } })).toEqual([
    'rl.group_size: sftTraining does not read rl.group_size (a key of rlTraining, gepaRlAlternation, fastSlowTraining); nothing it runs would change',
    'rl.n_eval: sftTraining does not read rl.n_eval: it was renamed n_eval',
  ]);
  expect(refusals('gepaRlAlternation', { rl: { n_batches: 3, learning_rate: 1e-3 }, gepa: { max_iterations: 9, minibatch_size: 5 } })).toEqual([
    'gepa.max_iterations: gepaRlAlternation does not read gepa.max_iterations: the iterations of each GEPA phase are alternation.gepa_iterations',
    'rl.n_batches: gepaRlAlternation does not read rl.n_batches: the batches of each RL phase are alternation.rl_batches_per_round',
  ]);
  expect(refusals('expertIteration', { rl: { learning_rate: 5e-4 } })).toEqual([
    "rl.learning_rate: expertIteration does not read rl.learning_rate: the distillation's learning rate is expert.sft_learning_rate",
  ]);
  expect(refusals('rlTraining', { policy: { backend: 'api' } })[0]).toMatch(/^policy\.backend: .*"local"\|"tinker", got "api"/);
  // one name for the test-evaluation size: GEPA's eval_test reads n_eval like every other workflow
  expect(refusals('gepaRlAlternation', { gepa: { n_eval_test: 3 } })).toEqual(['gepa.n_eval_test: gepaRlAlternation does not read gepa.n_eval_test: it was renamed n_eval']);
  expect(parseWorkflowInput<any>('gepaOptimization', { n_eval: 3, gepa: { eval_test: true } }).n_eval).toBe(3);
});

test("the issue's command: gepa.minibatch_size drives the GEPA phases, both phase-length keys are refused at once", () => {
  let msg = '';
  try {
    parseOverrides('gepa-rl', ['minibatch_size=5', 'max_iterations=9', 'n_batches=3']);
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg.split('\n')).toEqual([
    expect.stringMatching(/^gepa-rl: gepaRlAlternation does not read gepa\.max_iterations: the iterations of each GEPA phase are alternation\.gepa_iterations/),
    expect.stringMatching(/^gepa-rl: gepaRlAlternation does not read rl\.n_batches: the batches of each RL phase are alternation\.rl_batches_per_round/),
  ]);
});

test('keys of the alternation that drive its phases: gepa.minibatch_size and gepa.format_guard reach the GEPA phases', () => {
  const raw = parseOverrides('gepa-rl', ['minibatch_size=5', 'format_guard=true', 'gepa_iterations=9', 'rl_batches_per_round=3']);
  expect(raw).toEqual({ gepa: { minibatch_size: 5, format_guard: true }, alternation: { gepa_iterations: 9, rl_batches_per_round: 3 } });
  const input = parseWorkflowInput<any>('gepaRlAlternation', raw);
  expect(input.gepa).toMatchObject({ minibatch_size: 5, format_guard: true });
  // one home, one default: gepa.format_guard, false (gepa-ai/gepa accepts on the minibatch score alone)
  expect(parseWorkflowInput<any>('gepaRlAlternation', {}).gepa.format_guard).toBe(false);
  expect(parseWorkflowInput<any>('gepaOptimization', {}).gepa.format_guard).toBe(false);
  // the optimiser settings have one home too, read by every training workflow
  for (const cmd of ['rl', 'sft', 'expert-iteration', 'gepa-rl'] as const) expect(parseOverrides(cmd, ['beta1=0.8', 'n_eval=4'])).toEqual({ optim: { beta1: 0.8 }, n_eval: 4 });
});

test('a value the workflow cannot run is refused too: RL has no cross_entropy loss (that is SFT, whose examples it does not build)', () => {
  expect(() => parseOverrides('rl', ['loss=cross_entropy'])).toThrow('rl.loss: expected one of importance_sampling | ppo | cispo, got "cross_entropy"');
  expect(() => parseWorkflowInput('gepaRlAlternation', { rl: { loss: 'cross_entropy' } })).toThrow(/rl\.loss: .*got "cross_entropy"/);
});

test('a key read only under another setting is refused when that setting says it is not read, naming the setting', () => {
  const refusal = (type: any, raw: unknown) => {
    try {
      parseWorkflowInput(type, raw);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  expect(refusal('rlTraining', { task: { env: 'gsm8k', arithmetic_digits: 3 } })).toMatch(/task\.arithmetic_digits: rlTraining does not read task\.arithmetic_digits here: read only with task\.env=arithmetic \(got gsm8k\); got 3/);
  expect(refusal('gepaOptimization', { policy: { api_model: 'gpt-4o' } })).toMatch(/policy\.api_model: .* read only with policy\.backend=api \(got local\)/);
  expect(refusal('gepaOptimization', { policy: { backend: 'api', lora_rank: 8 } })).toMatch(/policy\.lora_rank: .*not read with policy\.backend=api/);
  expect(refusal('gepaRlAlternation', { teacher: { model: 'x' } })).toMatch(/teacher\.model: .*read only with alternation\.expert_rounds_per_round > 0/);
  expect(refusal('gepaRlAlternation', { teacher: { model: 'x' }, alternation: { expert_rounds_per_round: 1 } })).toBeNull();
  expect(refusal('expertIteration', { expert: { use_hints: false, expert_samples: 9 } })).toMatch(/expert\.expert_samples: .*read only with expert\.use_hints=true/);
  expect(refusal('rlTraining', { run: { wandb_mode: 'offline' } })).toMatch(/run\.wandb_mode: .*read only with run\.wandb_project set/);
  expect(refusal('rlTraining', { policy: { lora_rank: 0, lora_alpha: 4 } })).toMatch(/policy\.lora_alpha: .*not read with policy\.lora_rank=0/);
  // the default value itself is harmless (a composed workflow hands its children whole sections)
  expect(refusal('rlTraining', { task: { env: 'gsm8k', arithmetic_digits: 2 } })).toBeNull();
  // and the CLI says so before connecting
  expect(() => prepareExperiment('rl', ['env=gsm8k', 'arithmetic_digits=3'])).toThrow(/rlTraining does not read task\.arithmetic_digits here/);
});

test('help lists exactly the keys the command accepts, none it refuses', () => {
  for (const [command, type] of Object.entries(COMMANDS) as Array<[keyof typeof COMMANDS, keyof typeof WORKFLOW_INPUT_SCHEMAS]>) {
    const text = helpText(command);
    const listed = text
      .split('\n')
      .slice(4)
      .map((l) => l.trim().split(/\s+/)[0]);
    expect(listed.sort()).toEqual(leavesOf(WORKFLOW_INPUT_SCHEMAS[type] as any).map((l) => l.path.join('.')).sort());
    for (const [arg] of UNREAD[command]) {
      const key = arg.split('=')[0];
      expect(listed.some((k) => k === key || k.endsWith(`.${key}`))).toBe(false);
    }
  }
  expect(helpText('sft')).not.toMatch(/rl\.(group_size|loss|n_batches)/);
  expect(helpText('expert-iteration')).toMatch(/expert\.sft_epochs\s+3 /);
});

test("the reflection LM's max_tokens defaults by provider (160 on local, measured; 512 elsewhere); a set value is kept; help shows both", () => {
  const base = { task: { env: 'arithmetic' } };
  const refl = (r: Record<string, unknown>) => (parseWorkflowInput('gepaOptimization', { ...base, reflection: r }) as { reflection: { max_tokens: number; temperature: number } }).reflection;
  expect(refl({})).toMatchObject({ provider: 'local', max_tokens: 160, temperature: 1 });
  expect(refl({ provider: 'openai', model: 'gpt-4o-mini' }).max_tokens).toBe(512);
  expect(refl({ provider: 'anthropic', model: 'claude-haiku-4-5' }).max_tokens).toBe(512);
  expect(refl({ max_tokens: 300 }).max_tokens).toBe(300);
  expect(refl({ provider: 'openai', model: 'gpt-4o-mini', max_tokens: 64 }).max_tokens).toBe(64);
  // the teacher has one default
  const t = (parseWorkflowInput('expertIteration', { ...base }) as { teacher: { max_tokens: number } }).teacher;
  expect(t.max_tokens).toBe(256);
  expect(leavesOf(WORKFLOW_INPUT_SCHEMAS.gepaOptimization as never).find((l) => l.path.join('.') === 'reflection.max_tokens')?.description).toMatch(/default 512, 160 on the local provider/);
});
