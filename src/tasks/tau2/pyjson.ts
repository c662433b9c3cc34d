/**
 * Python-compatible JSON text (tau2 formats tool results with `json.dumps(model_dump())` and hashes
 * the DB with `json.dumps(model_dump(), sort_keys=True)`): separators ", " and ": ", every char
 * above U+007F as a lower-case \uXXXX (ensure_ascii), and floats printed as Python does. JS cannot
 * tell 100 from 100.0, so which numbers are floats is declared by the caller (`isFloat(path)`), never
 * guessed from the value.
 */

export type FloatTest = (path: readonly string[], parent: unknown) => boolean;

const noFloats: FloatTest = () => false;

/** Python's float repr for the values a domain holds (shortest round-trip digits; integral → "x.0"). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return (Object.is(x, -0) ? '-' : '') + Math.abs(x).toFixed(1);
  const s = String(x);
  // JS writes 1e+21 where Python writes 1e+21, and 1e-7 both ways; exponent forms agree except JS's "e+"/"e-" digits padding
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** json.dumps(value[, sort_keys=True]) with Python's default separators and ensure_ascii. */
export function pyDumps(value: unknown, opts: { sortKeys?: boolean; isFloat?: FloatTest } = {}): string {
  const isFloat = opts.isFloat ?? noFloats;
  const out: string[] = [];
  const walk = (v: unknown, path: string[], parent: unknown): void => {
    if (v === null || v === undefined) out.push('null');
    else if (typeof v === 'string') out.push(pyString(v));
    else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
    else if (typeof v === 'number') out.push(isFloat(path, parent) ? pyFloat(v) : Number.isInteger(v) ? String(v) : pyFloat(v));
    else if (Array.isArray(v)) {
      out.push('[');
      v.forEach((x, i) => {
        if (i) out.push(', ');
        walk(x, [...path, String(i)], v);
      });
      out.push(']');
    } else if (typeof v === 'object') {
      const keys = Object.keys(v as object);
      if (opts.sortKeys) keys.sort();
      out.push('{');
      keys.forEach((k, i) => {
        if (i) out.push(', ');
        out.push(pyString(k), ': ');
        walk((v as Record<string, unknown>)[k], [...path, k], v);
      });
      out.push('}');
    } else throw new Error(`pyDumps: cannot serialise a ${typeof v}`);
  };
  walk(value, [], null);
  return out.join('');
}

/** Python repr of plain JSON values, as pydantic prints `input_value=` in its messages. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloat(v);
  if (typeof v === 'string') return v.includes("'") && !v.includes('"') ? `"${v}"` : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v as object).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
}
