/** The one JSONL parser: line numbers count blank lines, a bad line is reported (not dropped), the unterminated last line is marked. */
import { parseJsonlLines } from '../../src/storage/jsonl';

test('non-blank lines with their 1-based numbers, values and parse errors', () => {
  const lines = parseJsonlLines('{"a":1}\n\n  \nnot json\n[2]\n{"torn": ');
  expect(lines.map((l) => [l.lineNo, l.ok, l.isLast])).toEqual([
    [1, true, false],
    [4, false, false],
    [5, true, false],
    [6, false, true],
  ]);
  expect(lines[0]).toMatchObject({ value: { a: 1 }, text: '{"a":1}' });
  expect(lines[2]).toMatchObject({ value: [2] });
  expect(lines[1].ok ? null : lines[1].error).toBeInstanceOf(SyntaxError);
});

test('a file ending in a newline has no last line to mark, and an empty text no lines', () => {
  expect(parseJsonlLines('{"a":1}\n').map((l) => l.isLast)).toEqual([false]);
  expect(parseJsonlLines('')).toEqual([]);
});
