/**
 * Defaults that match the references, and GEPA settings checked where the config is parsed
 * (issue 23): the tau2 agent's temperature, the val subset GEPA scores on (and val_size=all), and
 * GEPA components refused by the schema, not after the run directory exists.
 */
import { gepaValNote, prepareExperiment } from '../../src/cli/experiment';
import { parseWorkflowInput, type GepaInput } from '../../src/config';
import { withTaskDefaults } from '../../src/config/task';
import { gepaValSize, valSubsetLine } from '../../src/core/gepa/budget';
import { configIssues } from '../helpers/configIssues';

const issues = configIssues;

const tau2 = { env: 'tau2-airline' };
const api = { backend: 'api', api_provider: 'openai', api_model: 'gpt-4.1' };

describe('the tau2 agent samples at temperature 0 unless told otherwise (tau2-bench default)', () => {
  test.each(['gepaOptimization', 'evaluation'] as const)('%s', (type) => {
    expect(parseWorkflowInput<{ policy: { temperature: number } }>(type, { task: tau2, policy: api }).policy.temperature).toBe(0);
    expect(parseWorkflowInput<{ policy: { temperature: number } }>(type, { task: tau2 }).policy.temperature).toBe(0);
    // a given temperature is kept
    expect(parseWorkflowInput<{ policy: { temperature: number } }>(type, { task: tau2, policy: { ...api, temperature: 0.7 } }).policy.temperature).toBe(0.7);
    // every other task keeps 1.0
    expect(parseWorkflowInput<{ policy: { temperature: number } }>(type, { task: { env: 'gsm8k' }, policy: api }).policy.temperature).toBe(1);
  });
  test('malformed input is left for the schema to report', () => {
    expect(withTaskDefaults({ task: tau2, policy: 'x' })).toEqual({ task: tau2, policy: 'x' });
    expect(withTaskDefaults(null)).toBeNull();
    expect(issues('evaluation', { task: tau2, policy: 'x' })[0]).toMatch(/^policy: /);
  });
});

describe('GEPA val subset', () => {
  test('sized to the budget by default; val_size=all is the whole split', () => {
    expect(gepaValSize({ available: 100, max_metric_calls: 150, minibatch: 3 })).toBe(33); // (150 - 3*2*3) / 4
    expect(gepaValSize({ available: 100, max_metric_calls: 50, minibatch: 3 })).toBe(8); // (50 - 18) / 4 = 8
    expect(gepaValSize({ available: 100, max_metric_calls: 150, minibatch: 3, requested: 'all' })).toBe(100);
    expect(gepaValSize({ available: 100, max_metric_calls: 150, minibatch: 3, requested: 20 })).toBe(20);
  });
  test('the line printed at start: the subset, and what scoring all needs when the budget is short of it', () => {
    // the whole split needs the seed (100) and one iteration (2*3 + 100): 206
    expect(valSubsetLine({ val_size: 33, available: 100, max_metric_calls: 150, minibatch: 3 })).toBe('val: 33 of 100 rows, budget 150; gepa.val_size=all scores all (with gepa.max_metric_calls >= 206)');
    expect(valSubsetLine({ val_size: 60, available: 100, max_metric_calls: 300, minibatch: 3 })).toBe('val: 60 of 100 rows, budget 300; gepa.val_size=all scores all');
    expect(valSubsetLine({ val_size: 100, available: 100, max_metric_calls: 300, minibatch: 3 })).toBe('val: all 100 rows, budget 300');
  });
  test('val_size=all is accepted by the schema and by the CLI; anything else but a positive integer is refused', () => {
    expect(parseWorkflowInput<GepaInput>('gepaOptimization', { gepa: { val_size: 'all' } }).gepa.val_size).toBe('all');
    expect((prepareExperiment('gepa', ['val_size=all', '--id', 'a']).input.gepa as { val_size: unknown }).val_size).toBe('all');
    expect((prepareExperiment('gepa', ['val_size=20', '--id', 'b']).input.gepa as { val_size: unknown }).val_size).toBe(20);
    expect(issues('gepaOptimization', { gepa: { val_size: 'some' } })[0]).toMatch(/^gepa\.val_size: .*got "some"/);
  });
  test('what `gepa-rl gepa` and `gepa-rl gepa-rl` print at start, from the task\'s real val split', async () => {
    const note = (type: 'gepaOptimization' | 'gepaRlAlternation', raw: unknown) => gepaValNote(type, parseWorkflowInput(type, raw));
    expect(await note('gepaOptimization', { task: { env: 'gsm8k' } })).toBe('val: 33 of 100 rows, budget 150; gepa.val_size=all scores all (with gepa.max_metric_calls >= 206)');
    expect(await note('gepaOptimization', { task: { env: 'gsm8k' }, gepa: { max_metric_calls: 50 } })).toBe('val: 8 of 100 rows, budget 50; gepa.val_size=all scores all (with gepa.max_metric_calls >= 206)');
    expect(await note('gepaOptimization', { task: { env: 'gsm8k' }, gepa: { val_size: 'all', max_metric_calls: 300 } })).toBe('val: all 100 rows, budget 300');
    expect(await note('gepaOptimization', { task: { env: 'arithmetic' } })).toBe('val: 33 of 50 rows, budget 150; gepa.val_size=all scores all');
    expect(await note('gepaRlAlternation', { task: { env: 'arithmetic' } })).toBe("each GEPA phase's val: 33 of 50 rows, budget 150; gepa.val_size=all scores all");
    // val_size=all on a budget that cannot pay the seed and one iteration: refused before any workflow starts
    await expect(note('gepaOptimization', { task: { env: 'gsm8k' }, gepa: { val_size: 'all' } })).rejects.toThrow(/max_metric_calls=150 cannot pay for the seed evaluation on 100 val rows plus one iteration .* it needs at least 206/);
    expect(await gepaValNote('rlTraining', parseWorkflowInput('rlTraining', {}))).toBeNull();
  });
});

describe('GEPA components are refused by the schema (before any run directory exists)', () => {
  test.each([
    [{ components: {} }, /^gepa\.components: gepa\.components is empty/],
    [{ components: { '1x': 'a' } }, /^gepa\.components: gepa\.components names must be identifiers.*\["1x"\]/],
    [{ components: { format: 'F', system_prompt: 'P' } }, /^gepa\.components: gepa\.components must list system_prompt first; got the order \["format","system_prompt"\]/],
    [{ reflection_prompts: { format: 't' } }, /^gepa\.reflection_prompts: gepa\.reflection_prompts names components that do not exist: \["format"\] \(components: \["system_prompt"\]\)/],
  ])('%j', (gepa, why) => {
    const found = issues('gepaOptimization', { gepa });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(why);
  });
  test('valid components pass; the alternation (one system prompt) refuses reflection_prompts for other components', () => {
    expect(issues('gepaOptimization', { gepa: { components: { system_prompt: 'P', format: 'F' }, reflection_prompts: { format: 't' } } })).toEqual([]);
    expect(issues('gepaOptimization', { gepa: { components: { format: 'F' }, reflection_prompts: { system_prompt: 't' } } })).toEqual([]);
    expect(issues('gepaRlAlternation', { gepa: { reflection_prompts: { system_prompt: 't' } } })).toEqual([]);
    expect(issues('gepaRlAlternation', { gepa: { reflection_prompts: { format: 't' } } })[0]).toMatch(/^gepa\.reflection_prompts: .*\["format"\]/);
  });
});
