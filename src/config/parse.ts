/**
 * Parsing a workflow input: the schema's defaults and checks, then the key-read policy (reads.ts);
 * every refusal names the key, why, and what was received. Pure.
 */
import type { WorkflowType } from '../constants';
import { WORKFLOW_INPUT_SCHEMAS } from './inputs';
import { conditionallyUnread, type ConfigIssue, leafPaths, unreadKeyMessage, unsupportedTask, valueAt } from './reads';
import { withTaskDefaults } from './task';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly workflowType: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid ${workflowType} config:\n` + issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'));
  }
}

/** Validate and fill defaults; throws ConfigError naming every bad field and what it received. */
export function parseWorkflowInput<T = unknown>(type: WorkflowType, raw: unknown): T {
  const schema = WORKFLOW_INPUT_SCHEMAS[type];
  if (!schema) throw new ConfigError(type, [{ path: '', message: `no input schema for workflow type ${type}` }]);
  // task-dependent defaults first (tau2-airline's agent at temperature 0: config/task.ts withTaskDefaults)
  const r = schema.safeParse(withTaskDefaults(raw ?? {}));
  if (r.success) {
    const unread = [...unsupportedTask(type, r.data), ...conditionallyUnread(type, schema, raw ?? {}, r.data)];
    if (unread.length) throw new ConfigError(type, unread);
    return r.data as T;
  }
  const issues = r.error.issues.flatMap((i): ConfigIssue[] => {
    const received = valueAt(raw, i.path);
    if (i.code === 'unrecognized_keys') {
      // one issue per key the workflow does not read, each saying why and what to use instead
      return i.keys.flatMap((k) =>
        leafPaths((received as Record<string, unknown>)[k], [...i.path, k].join('.')).map((p) => ({
          path: p,
          message: unreadKeyMessage(type, p),
          received: valueAt(raw, p.split('.')),
        })),
      );
    }
    return [{ path: i.path.join('.'), message: `${i.message}, got ${JSON.stringify(received) ?? 'nothing'}`, received }];
  });
  throw new ConfigError(type, issues);
}

