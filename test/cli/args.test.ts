import { helpText, parseOverrides } from '../../src/cli/args';
import { leavesOf, parseWorkflowInput, WORKFLOW_INPUT_SCHEMAS } from '../../src/config';

test('seed-style key=value overrides map to the typed config', () => {
  const raw = parseOverrides('rl', ['env=gsm8k', 'n_batches=20', 'learning_rate=5e-4', 'advantage=grpo_std', 'lora_target_modules=q_proj,v_proj', 'max_tokens=64']);
  expect(raw).toEqual({
    task: { env: 'gsm8k' },
    rl: { n_batches: 20, learning_rate: 5e-4, advantage: 'grpo_std' },
    policy: { lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 64 },
  });
  const input = parseWorkflowInput<any>('rlTraining', raw);
  expect(input.rl.group_size).toBe(4); // defaults fill the rest
});

test('dotted paths, ambiguous leaves, did-you-mean and bad values', () => {
  expect(parseOverrides('gepa', ['reflection.model=gpt-4o'])).toEqual({ reflection: { model: 'gpt-4o' } });
  expect(parseOverrides('gepa', ['model=gpt-4o'])).toEqual({ reflection: { model: 'gpt-4o' } }); // unique leaf
  expect(() => parseOverrides('rl', ['n_batchs=3'])).toThrow('unknown key "n_batchs". Did you mean n_batches?');
  expect(() => parseOverrides('rl', ['n_batches=many'])).toThrow('rl.n_batches: expected a number, got "many"');
  expect(() => parseOverrides('rl', ['skip'])).toThrow(/expected key=value/);
  expect(() => parseOverrides('rl', ['advantage=median'])).toThrow('rl.advantage: expected one of group_centered | grpo_std, got "median"');
  expect(() => parseOverrides('gepa-rl', ['skip_first_gepa=maybe'])).toThrow(/expected true or false, got "maybe"/);
});

test('--config values sit below overrides', () => {
  expect(parseOverrides('rl', ['n_batches=3'], { rl: { n_batches: 9, group_size: 8 } })).toEqual({ rl: { n_batches: 3, group_size: 8 } });
});

test('help lists every key with its default and meaning', () => {
  for (const [cmd, type] of [['rl', 'rlTraining'], ['gepa', 'gepaOptimization'], ['gepa-rl', 'gepaRlAlternation']] as const) {
    const text = helpText(cmd);
    for (const leaf of leavesOf(WORKFLOW_INPUT_SCHEMAS[type] as any)) {
      expect(text).toContain(leaf.path.join('.'));
      if (leaf.description) expect(text).toContain(leaf.description.slice(0, 30));
    }
  }
  expect(helpText('rl')).toMatch(/rl\.group_size\s+4\s+samples per problem/);
});

test('invalid config values are rejected naming every field and what was received', () => {
  expect(() => parseWorkflowInput('rlTraining', { rl: { group_size: -1, loss: 'dpo' }, task: { env: 'nope' } })).toThrow(
    /rl\.group_size: .*got -1[\s\S]*rl\.loss: .*got "dpo"[\s\S]*task\.env: .*got "nope"|task\.env[\s\S]*rl\.group_size/,
  );
});
