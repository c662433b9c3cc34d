/**
 * The seeds' CLI style on the typed config: `key=value` where key is a leaf name unique across the
 * workflow's schema (n_batches=20 -> rl.n_batches) or a dotted path (reflection.model=gpt-4o).
 * Values are coerced by the leaf's zod type; unknown keys get a did-you-mean; help is generated
 * from the schemas' descriptions and defaults; the CLI's own flags. Pure.
 */
import type { ZodType } from 'zod';
import { type Leaf, leafPaths, leavesOf, NOT_READ, RENAMED, samplingSchema, unreadKeyMessage, WORKFLOW_INPUT_SCHEMAS } from '../config';
import type { WorkflowType } from '../constants';

export const COMMANDS = {
  'eval-prompt': 'evaluatePrompt',
  rl: 'rlTraining',
  gepa: 'gepaOptimization',
  'gepa-rl': 'gepaRlAlternation',
  'expert-iteration': 'expertIteration',
  sft: 'sftTraining',
  evaluate: 'evaluation',
  traces: 'traceGeneration',
  'fast-slow': 'fastSlowTraining',
} as const satisfies Record<string, WorkflowType>;

export class OverrideError extends Error {
  override name = 'OverrideError';
}

/** A command line the CLI cannot act on (a missing id, an unreadable file, an unknown command). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The CLI's own flags, apart from the command's positional words and key=value overrides. */
export function splitFlags(argv: string[]): { flags: Record<string, string | true>; rest: string[] } {
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') flags.help = true;
    else if (a === '--detach' || a === '--json' || a === '--help') flags[a.slice(2)] = true;
    else if (a === '--config' || a === '--id') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags[a.slice(2)] = v;
    } else rest.push(a);
  }
  return { flags, rest };
}

function schemaFor(command: string): { type: WorkflowType; schema: ZodType } {
  const type = (COMMANDS as Record<string, WorkflowType>)[command];
  const schema = type && WORKFLOW_INPUT_SCHEMAS[type];
  if (!type || !schema) throw new OverrideError(`unknown command ${JSON.stringify(command)} (expected one of ${Object.keys(COMMANDS).join(', ')})`);
  return { type, schema };
}

/** Aliases in the seeds' spelling: their flat keys always mean the policy's `sampling` part (not reflection's or teacher's). */
const ALIASES: Record<string, string> = {
  env: 'task.env',
  ...Object.fromEntries(Object.keys(samplingSchema.shape).map((k) => [k, `policy.${k}`])),
};

/**
 * Keys as the systems we replace spell them (the GEPA+RL scripts, tinker-cookbook's GEPA recipe
 * train.py), with the key each sets here; a command line that uses one gets a one-line note naming
 * the canonical key (docs/CONFIG.md lists them).
 */
export const SEED_ALIASES: Record<string, string> = {
  task_name: 'task.env',
  model_name: 'policy.base_model',
  reflection_model: 'reflection.model',
  reflection_provider: 'reflection.provider',
  reflection_backend: 'reflection.provider',
};

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function resolveKey(command: string, given: string, leaves: Leaf[]): Leaf {
  const key = SEED_ALIASES[given] ?? given;
  const exact = leaves.find((l) => l.path.join('.') === key) ?? leaves.find((l) => l.path.join('.') === ALIASES[key]);
  if (exact) return exact;
  const byName = leaves.filter((l) => l.path[l.path.length - 1] === key);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new OverrideError(`key ${key} is ambiguous; use one of ${byName.map((l) => l.path.join('.')).join(', ')}`);
  }
  throw new OverrideError(refusal(command, key, leaves));
}

/**
 * Why `command` refuses `key` (a dotted path or a leaf name): the workflow does not read it (with the
 * key that does what was meant, when one does), or no workflow has it (with a did-you-mean).
 */
export function refusal(command: string, key: string, leaves: Leaf[]): string {
  const { type } = schemaFor(command);
  const names = [...new Set(leaves.flatMap((l) => [l.path.join('.'), l.path[l.path.length - 1]]))];
  const best = closest(key.split('.').pop()!, names);
  const mean = best ? ` Did you mean ${best}?` : '';
  const helpHint = `('gepa-rl help ${command}' lists every key it reads)`;
  // the same name elsewhere: a key of another workflow, one this workflow refuses on purpose, or an old name
  const known = new Set<string>([...Object.keys(RENAMED), ...Object.keys(NOT_READ[type] ?? {})]);
  for (const t of Object.values(COMMANDS)) for (const l of leavesOf(WORKFLOW_INPUT_SCHEMAS[t]!)) known.add(l.path.join('.'));
  const paths = [...known].filter((p) => p === key || (!key.includes('.') && p.split('.').pop() === key));
  const why = paths.find((p) => NOT_READ[type]?.[p]) ?? paths.find((p) => RENAMED[p]) ?? paths[0];
  if (why) return `${command}: ${unreadKeyMessage(type, why)}.${NOT_READ[type]?.[why] || RENAMED[why] ? '' : mean} ${helpHint}`;
  return `unknown key ${JSON.stringify(key)}.${mean} ${helpHint}`;
}

/** The name spelled most like `key`, within a small edit distance. */
function closest(key: string, names: string[]): string | null {
  const best = names.map((n) => [n, levenshtein(key, n)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(key.length / 3)) ? best[0] : null;
}

/**
 * Every key of a --config object that the workflow's schema does not have, each with a
 * did-you-mean (a sibling key spelled alike, or the place a known leaf name belongs).
 * Values are left to the schema; this only names keys, so all of them are reported at once.
 */
export function unknownConfigKeys(command: string, config: Record<string, unknown>): string[] {
  const leaves = leavesOf(schemaFor(command).schema);
  const problems: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string[]) => {
    for (const [k, v] of Object.entries(obj)) {
      const p = [...prefix, k];
      const dotted = p.join('.');
      if (leaves.some((l) => l.path.join('.') === dotted)) continue;
      const below = leaves.filter((l) => l.path.length > p.length && l.path.slice(0, p.length).join('.') === dotted);
      if (below.length) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, p);
        continue; // a wrong type for a section is the schema's message
      }
      const elsewhere = leaves.filter((l) => l.path[l.path.length - 1] === k).map((l) => l.path.join('.'));
      const sibling = closest(k, [...new Set(leaves.filter((l) => l.path.length > p.length - 1 && l.path.slice(0, prefix.length).join('.') === prefix.join('.')).map((l) => l.path[prefix.length]))]);
      const hint = elsewhere.length ? ` Did you mean ${elsewhere.join(' or ')}?` : sibling ? ` Did you mean ${[...prefix, sibling].join('.')}?` : '';
      // a key this workflow does not read (another workflow's, or an old name): say so and what to use
      const { type } = schemaFor(command);
      const unread = leafPaths(v, dotted).map((q) => unreadKeyMessage(type, q));
      const refused = unread.filter((m) => !m.includes('nothing it runs would change') || / \(a key of /.test(m));
      if (refused.length) problems.push(...refused.map((m) => `${m}.${hint}`));
      else problems.push(`unknown key ${dotted}.${hint}`);
    }
  };
  walk(config, []);
  return problems;
}

function coerce(leaf: Leaf, raw: string): unknown {
  const where = leaf.path.join('.');
  if (leaf.nullable && raw === 'null') return null;
  switch (leaf.kind) {
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || Number.isNaN(v)) throw new OverrideError(`${where}: expected a number, got ${JSON.stringify(raw)}`);
      return v;
    }
    case 'boolean':
      // True/False as the seeds' Python scripts spell them
      if (raw === 'true' || raw === 'True' || raw === '1') return true;
      if (raw === 'false' || raw === 'False' || raw === '0') return false;
      throw new OverrideError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'array':
      if (raw.startsWith('[')) {
        try {
          return JSON.parse(raw);
        } catch {
          throw new OverrideError(`${where}: expected a JSON array or a comma list, got ${JSON.stringify(raw)}`);
        }
      }
      return raw === '' ? [] : raw.split(',').map((s) => s.trim());
    case 'union': {
      // a number or a word (gepa.val_size: 20 | all): a number when it reads as one, for the schema to check
      const v = Number(raw);
      return raw.trim() !== '' && !Number.isNaN(v) ? v : raw;
    }
    case 'enum':
      if (leaf.options && !leaf.options.includes(raw)) {
        throw new OverrideError(`${where}: expected one of ${leaf.options.join(' | ')}, got ${JSON.stringify(raw)}`);
      }
      return raw;
    default:
      return raw;
  }
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/**
 * key=value overrides applied over `base` (a --config file's object). A key given in a seed's
 * spelling (SEED_ALIASES) adds a note naming its canonical key to `notes`.
 */
export function parseOverrides(command: string, argv: string[], base: Record<string, unknown> = {}, notes: string[] = []): Record<string, unknown> {
  const { schema } = schemaFor(command);
  const leaves = leavesOf(schema);
  const out = structuredClone(base);
  // every refused key at once, so one run of the command names them all
  const refused: string[] = [];
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    if (arg.startsWith('-')) {
      throw new OverrideError(`unknown option ${arg}: the options are --config <file>, --id <workflow-id>, --detach, --json, --help; settings are key=value ('gepa-rl help ${command}' lists them)`);
    }
    if (eq <= 0) throw new OverrideError(`expected key=value, got ${JSON.stringify(arg)}`);
    let leaf: Leaf;
    try {
      leaf = resolveKey(command, arg.slice(0, eq), leaves);
    } catch (e) {
      refused.push((e as Error).message);
      continue;
    }
    const given = arg.slice(0, eq);
    if (SEED_ALIASES[given]) notes.push(`note: ${given} is ${leaf.path.join('.')} here`);
    setPath(out, leaf.path, coerce(leaf, arg.slice(eq + 1)));
  }
  if (refused.length) throw new OverrideError(refused.join('\n'));
  return out;
}

export function helpText(command: string): string {
  const { type, schema } = schemaFor(command);
  const leaves = leavesOf(schema);
  // an example from this command's own keys: the last section's first key
  const sections = leaves.filter((l) => l.path.length > 1);
  const example = sections.find((l) => l.path[0] === sections[sections.length - 1].path[0])!;
  const rows = leaves.map((l) => {
    const name = l.path.join('.');
    const dflt = l.defaultValue === undefined ? '(unset)' : JSON.stringify(l.defaultValue);
    return `  ${name.padEnd(34)} ${dflt.length > 40 ? dflt.slice(0, 37) + '...' : dflt.padEnd(40)} ${l.description}`;
  });
  return [
    `gepa-rl ${command} [key=value ...] [--config file.json] [--detach] [--id workflow-id]   (workflow ${type})`,
    `Keys may be given by their last name when unique (${example.path[example.path.length - 1]}=...) or by dotted path (${example.path.join('.')}=...).`,
    '',
    `  ${'key'.padEnd(34)} ${'default'.padEnd(40)} meaning`,
    ...rows,
  ].join('\n');
}
