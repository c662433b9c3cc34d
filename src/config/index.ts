/**
 * The config: zod schemas of every workflow input, the one source of truth for defaults, validation,
 * CLI help and the JSON Schema exported for Python (DESIGN §4.1). Pure: runs inside the workflow
 * sandbox. This file only re-exports, one file per concern:
 *
 * - the shared parts, each with one name and one default per setting and its type beside it: `task`
 *   (task.ts), `policy` with its `sampling` part and the trainer's model reference (policy.ts),
 *   `optim` (optim.ts), `lm` for reflection and teacher (lm.ts), `fast_slow` (fastSlow.ts);
 * - the stage sections (`run`, `rl`, `gepa`, `alternation`, `expert`, `sft`, `eval`, `traces`, `n_eval`):
 *   stages.ts;
 * - each workflow's input composed from them, and `WORKFLOW_INPUT_SCHEMAS`: inputs.ts;
 * - which keys each workflow reads (unread keys are refused, naming the key that does): reads.ts;
 * - parsing an input (`parseWorkflowInput`, `ConfigError`): parse.ts;
 * - the one walker over these schemas, shared with the CLI (cli/args.ts): walk.ts;
 * - the requests the Python workers receive: trainer.ts.
 */
export { taskConfigSchema, type TaskConfig } from './task';
export * from './lm';
export * from './optim';
export * from './policy';
export * from './trainer';
export * from './fastSlow';
export * from './stages';
export * from './inputs';
export { NOT_READ, RENAMED, leafPaths, unreadKeyMessage, type ConfigIssue } from './reads';
export { ConfigError, parseWorkflowInput } from './parse';
export { leavesOf, schemaAt, type Leaf } from './walk';
