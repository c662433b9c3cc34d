/**
 * One episode's environment (tau2 `Environment.get_response`): a tool call by name with a JSON
 * object of arguments gives `{content, error}`; a string result is returned raw, anything else as
 * Python's json.dumps of the model dump (field order, ", " / ": ", floats as 100.0); any failure is
 * "Error: <message>" with error=true. Arguments are not schema-checked at the top level, as in tau2:
 * a missing or unexpected key is a Python TypeError, reproduced here word for word.
 */
import { airlineIsFloat, DbView, loadAirlineDb, type BaseDb } from './db';
import { pyDumps } from './pyjson';
import { TOOLS_BY_NAME, ToolError, type ToolKind } from './tools';

export interface ToolResult {
  content: string;
  error: boolean;
}

export interface ToolCallLog {
  name: string;
  arguments: unknown;
  kind: ToolKind | 'unknown';
  error: boolean;
  content: string;
}

function quoteList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length === 1) return q[0];
  if (q.length === 2) return `${q[0]} and ${q[1]}`;
  return `${q.slice(0, -1).join(', ')}, and ${q[q.length - 1]}`;
}

export class AirlineEnv {
  readonly db: DbView;
  readonly calls: ToolCallLog[] = [];
  constructor(base: BaseDb = loadAirlineDb()) {
    this.db = new DbView(base);
  }

  toolKind(name: string): ToolKind | 'unknown' {
    return TOOLS_BY_NAME.get(name)?.kind ?? 'unknown';
  }

  /** `args` is the parsed argument object (a non-object is an error, as Python's `tool(**args)` would be) */
  call(name: string, args: unknown): ToolResult {
    const res = this.run(name, args);
    this.calls.push({ name, arguments: args, kind: this.toolKind(name), ...res });
    return res;
  }

  private run(name: string, args: unknown): ToolResult {
    const tool = TOOLS_BY_NAME.get(name);
    if (!tool) return { content: `Error: Tool '${name}' not found.`, error: true };
    if (!args || typeof args !== 'object' || Array.isArray(args)) {
      return { content: `Error: AirlineTools.${name}() argument after ** must be a mapping, not ${Array.isArray(args) ? 'list' : args === null ? 'NoneType' : typeof args}`, error: true };
    }
    const a = args as Record<string, unknown>;
    const extra = Object.keys(a).find((k) => !tool.params.includes(k));
    if (extra !== undefined) return { content: `Error: AirlineTools.${name}() got an unexpected keyword argument '${extra}'`, error: true };
    const missing = tool.params.filter((p) => !(p in a));
    if (missing.length) {
      const n = missing.length;
      return { content: `Error: AirlineTools.${name}() missing ${n} required positional argument${n > 1 ? 's' : ''}: ${quoteList(missing)}`, error: true };
    }
    try {
      const out = tool.run(this.db, a);
      return { content: typeof out === 'string' ? out : pyDumps(out, { isFloat: airlineIsFloat }), error: false };
    } catch (e) {
      const msg = e instanceof ToolError ? e.message : e instanceof Error ? `${e.message}` : String(e);
      return { content: `Error: ${msg}`, error: true };
    }
  }

  hash(): string {
    return this.db.hash();
  }
}
