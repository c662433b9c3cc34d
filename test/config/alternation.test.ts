/** gepaRlAlternation's config: it evolves one system prompt, so multi-component GEPA seeds are refused clearly. */
import { parseWorkflowInput } from '../../src/config';

test('gepa.components is refused for the alternation, naming the field and the fix', () => {
  expect(() => parseWorkflowInput('gepaRlAlternation', { gepa: { components: { system_prompt: 'a', format_rules: 'b' } } })).toThrow(
    /gepa\.components: gepaRlAlternation does not read gepa\.components: the alternation evolves a single system prompt: set gepa\.seed_prompt/,
  );
  // the same key is accepted by gepaOptimization itself
  const g = parseWorkflowInput<any>('gepaOptimization', { gepa: { components: { system_prompt: 'a', format_rules: 'b' } } });
  expect(Object.keys(g.gepa.components)).toEqual(['system_prompt', 'format_rules']);
  expect(parseWorkflowInput<any>('gepaRlAlternation', { gepa: { seed_prompt: 'Be brief.' } }).gepa.seed_prompt).toBe('Be brief.');
});

test('expert.restart_from_base is refused inside gepa-rl, saying why; expert-iteration on its own takes it', () => {
  expect(() => parseWorkflowInput('gepaRlAlternation', { alternation: { expert_rounds_per_round: 1 }, expert: { restart_from_base: true } })).toThrow(
    /expert\.restart_from_base: true is refused inside gepa-rl \(got true\): an expert phase starts from the weights the RL phase before it trained/,
  );
  expect(parseWorkflowInput<any>('gepaRlAlternation', { alternation: { expert_rounds_per_round: 1 }, expert: { restart_from_base: false } }).expert.restart_from_base).toBe(false);
  expect(parseWorkflowInput<any>('expertIteration', { expert: { restart_from_base: true } }).expert.restart_from_base).toBe(true);
});
