/**
 * The one walker over the config's zod schemas: a schema under its wrappers (default, prefault,
 * optional, nullable, and a transform's pipe, whose input schema it reads), the settings of an input
 * with their defaults and descriptions (`leavesOf`: CLI help and key=value in cli/args.ts), and what
 * an input has at a dotted path (`schemaAt`: the key-read policy in reads.ts). Pure.
 */
import type { z } from 'zod';

export type AnyZod = z.ZodType & { _zod: { def: Record<string, any> }; description?: string };

/** One setting of an input: its path, zod kind (number | boolean | string | enum | array | ...), default and description. */
export interface Leaf {
  path: string[];
  kind: string;
  nullable: boolean;
  description: string;
  defaultValue: unknown;
  options?: string[];
}

/** The schema under its wrappers, with what the wrappers said: nullable, the default, the first description. */
export function unwrap(s: AnyZod): { inner: AnyZod; nullable: boolean; defaultValue: unknown; description: string } {
  let cur = s;
  let nullable = false;
  let defaultValue: unknown = undefined;
  let description = s.description ?? '';
  for (;;) {
    const def = cur._zod.def;
    if (def.type === 'default' || def.type === 'prefault') {
      const v = def.defaultValue;
      defaultValue = typeof v === 'function' ? v() : v;
    } else if (def.type === 'nullable') nullable = true;
    else if (def.type === 'pipe') {
      // a section whose defaults are filled by a transform (an LM's max_tokens by provider): its input schema
      cur = def.in as AnyZod;
      description ||= cur.description ?? '';
      continue;
    } else if (def.type !== 'optional') break;
    cur = def.innerType as AnyZod;
    description ||= cur.description ?? '';
  }
  return { inner: cur, nullable, defaultValue, description };
}

/** Every setting of `schema` (objects are sections, anything else a setting), outermost first. */
export function leavesOf(schema: z.ZodType, prefix: string[] = []): Leaf[] {
  const { inner, nullable, defaultValue, description } = unwrap(schema as AnyZod);
  const def = inner._zod.def;
  if (def.type === 'object') {
    return Object.entries(def.shape as Record<string, AnyZod>).flatMap(([k, v]) => leavesOf(v, [...prefix, k]));
  }
  return [
    {
      path: prefix,
      kind: def.type,
      nullable,
      description,
      defaultValue,
      options: def.type === 'enum' ? Object.values(def.entries as Record<string, string>) : undefined,
    },
  ];
}

/** What `schema` has at `path`: a setting, a section of settings, or nothing. */
export function schemaAt(schema: z.ZodType, path: string[]): 'leaf' | 'section' | null {
  let cur = unwrap(schema as AnyZod).inner;
  for (const k of path) {
    if (cur._zod.def.type !== 'object') return null;
    const next = (cur._zod.def.shape as Record<string, AnyZod>)[k];
    if (!next) return null;
    cur = unwrap(next).inner;
  }
  return cur._zod.def.type === 'object' ? 'section' : 'leaf';
}
