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
