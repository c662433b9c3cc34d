/** The issues parseWorkflowInput reports for an input, as `path: message` lines ([] when it parses). */
import { ConfigError, parseWorkflowInput } from '../../src/config';
import type { WorkflowType } from '../../src/constants';

export function configIssues(type: WorkflowType, raw: unknown): string[] {
  try {
    parseWorkflowInput(type, raw);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}
