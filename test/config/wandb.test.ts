/** The W&B metrics-sink keys of the run config (issue 7 item 5): parsed, defaulted, set from the CLI. */
import { parseOverrides } from '../../src/cli/args';
import { parseWorkflowInput } from '../../src/config';

test('wandb_project is optional and wandb_mode defaults to auto', () => {
  const plain = parseWorkflowInput<any>('rlTraining', {});
  expect(plain.run.wandb_project).toBeUndefined();
  expect(plain.run.wandb_mode).toBe('auto');
  const set = parseWorkflowInput<any>('gepaRlAlternation', { run: { wandb_project: 'gepa-rl', wandb_mode: 'offline' } });
  expect(set.run).toMatchObject({ wandb_project: 'gepa-rl', wandb_mode: 'offline' });
});

test('bad wandb values name the field and what was received', () => {
  expect(() => parseWorkflowInput('rlTraining', { run: { wandb_mode: 'sometimes' } })).toThrow(/run\.wandb_mode: .*got "sometimes"/);
  expect(() => parseWorkflowInput('rlTraining', { run: { wandb_project: '' } })).toThrow(/run\.wandb_project/);
});

test('CLI key=value: wandb_project and wandb_mode resolve unambiguously to run.*', () => {
  for (const cmd of ['rl', 'gepa', 'gepa-rl'] as const) {
    expect(parseOverrides(cmd, ['wandb_project=x', 'wandb_mode=online'])).toEqual({ run: { wandb_project: 'x', wandb_mode: 'online' } });
  }
  expect(parseWorkflowInput<any>('rlTraining', parseOverrides('rl', ['wandb_project=x'])).run.wandb_project).toBe('x');
  expect(() => parseOverrides('rl', ['wandb_mode=maybe'])).toThrow('run.wandb_mode: expected one of auto | online | offline, got "maybe"');
});
