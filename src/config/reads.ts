/**
 * Which keys each workflow reads: keys another workflow has (`NOT_READ`, with the key that does what
 * was meant), old names (`RENAMED`), keys read only under another setting (`CONDITIONAL_READS`) and
 * tasks a workflow cannot run (`EPISODIC_UNSUPPORTED`), each refused by name before start. Pure.
 */
import type { z } from 'zod';
import type { WorkflowType } from '../constants';
import { WORKFLOW_INPUT_SCHEMAS } from './inputs';
import { isEpisodicTask } from './task';
import { schemaAt } from './walk';

/**
 * Keys a workflow does not read although another workflow (or one of its own sections elsewhere)
 * has them, with the key that does drive what the user meant. Refused before start with that pointer.
 */
export const NOT_READ: Partial<Record<WorkflowType, Record<string, string>>> = {
  gepaRlAlternation: {
    'gepa.max_iterations': 'the iterations of each GEPA phase are alternation.gepa_iterations',
    'gepa.components': 'the alternation evolves a single system prompt: set gepa.seed_prompt',
    'gepa.component_selector': 'the alternation evolves a single system prompt: there is one component to rewrite',
    'rl.n_batches': 'the batches of each RL phase are alternation.rl_batches_per_round',
    'expert.n_rounds': 'the rounds of each expert phase are alternation.expert_rounds_per_round',
  },
  expertIteration: {
    'rl.learning_rate': 'the distillation\'s learning rate is expert.sft_learning_rate',
  },
  sftTraining: {
    'rl.learning_rate': 'the learning rate of SFT is sft.learning_rate',
  },
};

/** Keys that were renamed: an old config gets the new name. */
export const RENAMED: Record<string, string> = {
  'rl.n_eval': 'n_eval',
  'rl.beta1': 'optim.beta1',
  'rl.beta2': 'optim.beta2',
  'rl.eps': 'optim.eps',
  'rl.weight_decay': 'optim.weight_decay',
  'rl.grad_clip': 'optim.grad_clip',
  'alternation.format_guard': 'gepa.format_guard',
  'alternation.traces_per_iteration': 'gepa.minibatch_size',
  'gepa.n_eval_test': 'n_eval',
};

/**
 * The keys a refused value at `prefix` names: the prefix itself when it is a setting somewhere (a
 * leaf of some workflow's schema, a refused or renamed key), else the keys inside it (a section).
 */
export function leafPaths(value: unknown, prefix: string): string[] {
  const known = prefix in RENAMED || Object.values(NOT_READ).some((m) => m && prefix in m) || Object.values(WORKFLOW_INPUT_SCHEMAS).some((sc) => schemaAt(sc!, prefix.split('.')) === 'leaf');
  if (known || value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, `${prefix}.${k}`));
}

/**
 * Why `type` refuses the key at `path`: the key that does what the user meant when there is one,
 * else the workflows that do read it.
 */
export function unreadKeyMessage(type: WorkflowType, path: string): string {
  const why = NOT_READ[type]?.[path];
  if (why) return `${type} does not read ${path}: ${why}`;
  const renamed = RENAMED[path];
  if (renamed) return `${type} does not read ${path}: it was renamed ${renamed}`;
  const readers = (Object.keys(WORKFLOW_INPUT_SCHEMAS) as WorkflowType[]).filter((t) => t !== type && schemaAt(WORKFLOW_INPUT_SCHEMAS[t]!, path.split('.')) !== null);
  return `${type} does not read ${path}${readers.length ? ` (a key of ${readers.join(', ')})` : ''}; nothing it runs would change`;
}

/** One refused key or value: its dotted path, why, and what was received. */
export interface ConfigIssue {
  path: string;
  message: string;
  received?: unknown;
}

/** The value of `raw` at `path` (undefined where it has none). */
export function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/**
 * Keys a workflow reads only under some other setting. Set to anything but their default while that
 * setting says otherwise, they would change nothing, so they are refused naming the setting. (A
 * composed workflow hands its children whole sections, defaults included: those pass, being defaults.)
 */
interface ConditionalRead {
  types?: WorkflowType[];
  /** dotted paths; `section.*` is every key of the section */
  keys: string[];
  unread: (c: any) => string | null;
}

const CONDITIONAL_READS: ConditionalRead[] = [
  { keys: ['task.arithmetic_digits', 'task.arithmetic_operators'], unread: (c) => (c.task.env !== 'arithmetic' ? `read only with task.env=arithmetic (got ${c.task.env})` : null) },
  { keys: ['task.jsonl_path', 'task.jsonl_prompt_field', 'task.jsonl_answer_field', 'task.jsonl_grader'], unread: (c) => (c.task.env !== 'jsonl' ? `read only with task.env=jsonl (got ${c.task.env})` : null) },
  { keys: ['policy.api_provider', 'policy.api_model', 'policy.api_base_url'], unread: (c) => (c.policy.backend !== 'api' ? `read only with policy.backend=api (got ${c.policy.backend})` : null) },
  { keys: ['policy.lora_rank', 'policy.lora_alpha', 'policy.lora_target_modules', 'policy.checkpoint'], unread: (c) => (c.policy.backend === 'api' ? 'not read with policy.backend=api (an API model has no weights here)' : null) },
  { keys: ['policy.lora_alpha', 'policy.lora_target_modules'], unread: (c) => (c.policy.lora_rank === 0 ? 'not read with policy.lora_rank=0 (full fine-tuning, no LoRA)' : null) },
  { keys: ['policy.sampler'], unread: (c) => (c.policy.backend !== 'local' ? `read only with policy.backend=local (got ${c.policy.backend}: ${c.policy.backend === 'tinker' ? 'Tinker samples on its own servers' : 'an API model is sampled by its provider'})` : null) },
  { keys: ['run.wandb_mode'], unread: (c) => (c.run.wandb_project === undefined ? 'read only with run.wandb_project set' : null) },
  {
    types: ['gepaOptimization', 'gepaRlAlternation'],
    keys: ['gepa.cache_evaluation'],
    unread: (c) => {
      const [on, t] = [c.gepa.cache_evaluation, c.policy.temperature];
      if (on === true && t > 0) return `true needs a deterministic policy (policy.temperature=0, got ${t}): a sampled reply differs between draws, so a cached score would stand in for a draw never made`;
      if (on === false && t > 0) return `false is what runs at policy.temperature=${t} already (the cache is on only at temperature 0)`;
      if (on === true && t === 0) return 'true is what runs at policy.temperature=0 already (its default there; false turns it off)';
      return null;
    },
  },
  {
    types: ['gepaRlAlternation'],
    keys: ['expert.*', 'teacher.*'],
    unread: (c) => (c.alternation.expert_rounds_per_round === 0 ? 'read only with alternation.expert_rounds_per_round > 0 (0: no expert phases)' : null),
  },
  {
    types: ['expertIteration', 'gepaRlAlternation'],
    keys: ['teacher.*', 'expert.max_hint_regenerations', 'expert.expert_samples'],
    unread: (c) => (c.expert.use_hints === false ? 'read only with expert.use_hints=true (false: best-of-N, no teacher)' : null),
  },
  {
    types: ['gepaOptimization'],
    keys: ['gepa.seed_prompt'],
    unread: (c) => (c.gepa.components && 'system_prompt' in c.gepa.components ? 'not read when gepa.components has system_prompt (that is the seed candidate\'s system prompt)' : null),
  },
  {
    types: ['sftTraining'],
    keys: ['sft.traces_file'],
    unread: (c) => (c.sft.source !== 'traces' ? `read only with sft.source=traces (got ${c.sft.source})` : null),
  },
  {
    keys: ['rl.drop_constant_reward_groups'],
    unread: () =>
      'it changes nothing here: a group whose rewards are all equal has advantage 0 for every sample with or without it, a sample with advantage 0 adds nothing to the loss, and a batch of them takes no step',
  },
  {
    keys: ['task.tau2_user_provider', 'task.tau2_user_model', 'task.tau2_user_base_url', 'task.tau2_user_max_tokens', 'task.tau2_agent_max_tokens', 'task.tau2_max_steps', 'task.tau2_max_errors'],
    unread: (c) => (c.task.env !== 'tau2-airline' ? `read only with task.env=tau2-airline (got ${c.task.env})` : null),
  },
  {
    keys: ['policy.max_tokens', 'policy.top_p'],
    unread: (c) => (isEpisodicTask(c.task) ? `not read with task.env=${c.task.env}: its agent turns take task.tau2_agent_max_tokens and are sent no top_p` : null),
  },
  {
    keys: ['policy.top_p'],
    unread: (c) => (c.policy.temperature === 0 ? 'not read with policy.temperature=0 (greedy decoding takes the most likely token whatever the nucleus)' : null),
  },
  {
    types: ['gepaOptimization', 'gepaRlAlternation'],
    keys: ['reflection.*'],
    unread: (c) => (c.gepa.debug === true ? 'not read with gepa.debug=true (the deterministic reflector calls no LM)' : null),
  },
  {
    types: ['gepaOptimization', 'gepaRlAlternation'],
    keys: ['gepa.max_merge_invocations'],
    unread: (c) => (c.gepa.use_merge === false ? 'read only with gepa.use_merge=true' : null),
  },
  {
    types: ['gepaOptimization'],
    keys: ['n_eval'],
    unread: (c) => (c.gepa.eval_test === false ? 'read only with gepa.eval_test=true (GEPA scores the test split only then)' : null),
  },
];

/**
 * Workflows that cannot run an episodic task (tau2-airline: multi-turn episodes scored by the
 * episode, no reference solution, no per-completion reward the trainer can use): refused at parse
 * time, with what would happen instead.
 */
const EPISODIC_UNSUPPORTED: Partial<Record<WorkflowType, string>> = {
  rlTraining: 'RL would train nothing (its episodes are not sampled as completions: every reward 0, every group constant)',
  gepaRlAlternation: 'its RL phases would train nothing (every reward 0, every group constant); run gepa (gepaOptimization) on it instead',
  expertIteration: 'every problem would be skipped (its attempts are single completions, not episodes)',
  traceGeneration: 'every problem would be skipped (its attempts are single completions, not episodes)',
  sftTraining: 'every problem would be skipped (the task has no reference solutions to train on)',
};

export function unsupportedTask(type: WorkflowType, data: any): ConfigIssue[] {
  const why = EPISODIC_UNSUPPORTED[type];
  if (!why || !isEpisodicTask(data.task)) return [];
  return [{ path: 'task.env', message: `${type} cannot run task.env=${data.task.env}: ${why}; got ${JSON.stringify(data.task.env)}`, received: data.task.env }];
}

const defaultsOf = new Map<WorkflowType, unknown>();

/**
 * `raw` says which keys were given (a default filled in by a transform, as reflection.max_tokens by
 * provider, was not); `data`, the parsed input, says whether the setting that reads them is on.
 */
export function conditionallyUnread(type: WorkflowType, schema: z.ZodType, raw: unknown, data: unknown): ConfigIssue[] {
  if (!defaultsOf.has(type)) defaultsOf.set(type, schema.parse({}));
  const defaults = defaultsOf.get(type);
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const rule of CONDITIONAL_READS) {
    if (rule.types && !rule.types.includes(type)) continue;
    const paths = rule.keys.flatMap((k) => {
      if (!k.endsWith('.*')) return [k];
      const section = valueAt(raw, [k.slice(0, -2)]);
      return section && typeof section === 'object' ? Object.keys(section).map((sub) => `${k.slice(0, -2)}.${sub}`) : [];
    });
    const set = paths.filter((p) => {
      const v = valueAt(raw, p.split('.'));
      return v !== undefined && JSON.stringify(v) !== JSON.stringify(valueAt(defaults, p.split('.')));
    });
    if (!set.length) continue;
    const why = rule.unread(data);
    if (!why) continue;
    for (const p of set) {
      if (seen.has(p)) continue;
      seen.add(p);
      const received = valueAt(raw, p.split('.'));
      issues.push({ path: p, message: `${type} does not read ${p} here: ${why}; got ${JSON.stringify(received)}`, received });
    }
  }
  return issues;
}
