/**
 * Which workflow types take the `set_prompt` update, and what it does in each (the workflow passes
 * `onSetPrompt` to installControl, workflows/control.ts); the CLI refuses it for the others with
 * `setPromptRefusal`. Pure.
 */
import type { WorkflowType } from '../constants';

/** `replace`: the running prompt is replaced (from the next batch or phase); `add`: the text joins the prompt pool. */
export const SET_PROMPT: Partial<Record<WorkflowType, 'replace' | 'add'>> = {
  rlTraining: 'replace',
  gepaRlAlternation: 'replace',
  fastSlowTraining: 'add',
};

export function takesSetPrompt(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(SET_PROMPT, type);
}

/** The refusal for a workflow type without a set_prompt handler, naming the types that have one. */
export function setPromptRefusal(workflowId: string, type: string): string {
  const of = (effect: 'replace' | 'add') => Object.entries(SET_PROMPT).filter(([, e]) => e === effect).map(([t]) => t);
  return `workflow ${workflowId} (${type}) does not accept set_prompt: its prompt cannot be replaced while it runs (${of('replace').join(' and ')} accept it; ${of('add').join(' and ')} adds it to its prompt pool)`;
}
