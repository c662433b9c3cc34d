import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { WORKFLOW_TYPES } from '../../src/constants';
import { SET_PROMPT, setPromptRefusal, takesSetPrompt } from '../../src/core/setPrompt';

describe('core/setPrompt: which workflows take set_prompt', () => {
  it('names exactly the workflow files that give installControl an onSetPrompt handler', () => {
    const dir = path.join(__dirname, '../../src/workflows');
    const withHandler = WORKFLOW_TYPES.filter((t) => {
      const file = path.join(dir, `${t}.ts`);
      return readdirSync(dir).includes(`${t}.ts`) && /\bonSetPrompt\s*:/.test(readFileSync(file, 'utf8'));
    });
    expect(Object.keys(SET_PROMPT).sort()).toEqual([...withHandler].sort());
    expect(withHandler.length).toBeGreaterThan(0);
  });

  it('refuses the others by type, saying which replace the prompt and which add it to a pool', () => {
    expect(takesSetPrompt('rlTraining')).toBe(true);
    expect(takesSetPrompt('gepaOptimization')).toBe(false);
    expect(takesSetPrompt('toString')).toBe(false);
    expect(setPromptRefusal('w1', 'gepaOptimization')).toBe(
      'workflow w1 (gepaOptimization) does not accept set_prompt: its prompt cannot be replaced while it runs (rlTraining and gepaRlAlternation accept it; fastSlowTraining adds it to its prompt pool)',
    );
  });
});
