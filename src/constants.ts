/** Names shared by workers, clients, the CLI and the Temporal CLI. One place, never repeated. */
export const TASK_QUEUE = 'gepa-rl';
export const TRAINER_TASK_QUEUE = 'gepa-rl-trainer';
/** Math-Verify grading (trainer/gepa_rl_trainer/grader.py); the trainer worker process polls it too. */
export const GRADER_TASK_QUEUE = 'gepa-rl-grader';

export const WORKFLOW_TYPES = [
  'evaluatePrompt',
  'gepaOptimization',
  'rlTraining',
  'gepaRlAlternation',
  'expertIteration',
  'sftTraining',
  'evaluation',
  'traceGeneration',
  'fastSlowTraining',
] as const;
export type WorkflowType = (typeof WORKFLOW_TYPES)[number];

/** Default Temporal endpoints of the embedded stack (DESIGN §2). */
export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_TEMPORAL_UI = 'http://localhost:8233';
export const DEFAULT_LOCAL_LM_URL = 'http://127.0.0.1:8765/v1';

/**
 * The LLM providers a config may name, written once: the config schemas build their enums from it
 * (config/lm.ts) and the provider factories dispatch on it (llm/). Here, below both, so the config
 * (and through it the workflow bundle) uses it without importing llm/.
 */
export const PROVIDERS = ['openai', 'anthropic', 'openai-compatible', 'local', 'scripted'] as const;

/** `scripted` is the in-process test stand-in for paid APIs (test/helpers/scriptedProviders.ts registers it; a worker without it refuses it), never a default. */
export type ProviderName = (typeof PROVIDERS)[number];
