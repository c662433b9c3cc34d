/**
 * JSON Lines, parsed in one place: the run directory's rows (src/storage/runDir.ts), the report's
 * (src/report/load.ts) and the datasets' (src/tasks/datasets.ts) all split and parse here. What a
 * malformed line means is the reader's policy, not this module's: the run directory skips a torn
 * row (its retried writer rewrites it), the report lists it as a warning, a dataset refuses it.
 */

/** One non-blank line of a JSONL text: its 1-based line number (blank lines count), its text, and its value or parse error. */
export type JsonlLine = { lineNo: number; text: string; /** the file's last line (no newline after it: possibly cut short) */ isLast: boolean } & (
  | { ok: true; value: unknown }
  | { ok: false; error: Error }
);

export function parseJsonlLines(text: string): JsonlLine[] {
  const lines = text.split('\n');
  const out: JsonlLine[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const at = { lineNo: i + 1, text: line, isLast: i === lines.length - 1 };
    try {
      out.push({ ...at, ok: true, value: JSON.parse(line) });
    } catch (e) {
      out.push({ ...at, ok: false, error: e as Error });
    }
  });
  return out;
}
