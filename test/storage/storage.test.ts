import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileBlobStore, readBlob } from '../../src/storage/blobs';
import { appendRowsOnce, readJsonl, resolveRunDir } from '../../src/storage/runDir';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'gepa-rl-storage-'));

test('blob store is content addressed and verifies sha256', async () => {
  const store = new FileBlobStore(tmp());
  const a = await store.put({ x: [1, 2, 3], s: 'é' });
  const b = await store.put({ x: [1, 2, 3], s: 'é' });
  expect(a).toEqual(b);
  expect(a.uri.endsWith(`${a.sha256}.json`)).toBe(true);
  expect(await readBlob(a)).toEqual({ x: [1, 2, 3], s: 'é' });
  writeFileSync(fileURLToPath(a.uri), '{"x":[1,2,4],"s":"é"}');
  await expect(readBlob(a)).rejects.toThrow(/corrupt.*sha256/);
  await expect(readBlob({ ...a, uri: 's3://bucket/x' })).rejects.toThrow(/file:\/\//);
});

test('appendRowsOnce never duplicates a row and survives a torn last line', async () => {
  const file = path.join(tmp(), 'metrics.jsonl');
  expect(await appendRowsOnce(file, [{ key: 'a', v: 1 }, { key: 'b', v: 2 }])).toBe(2);
  expect(await appendRowsOnce(file, [{ key: 'b', v: 2 }, { key: 'c', v: 3 }])).toBe(1);
  writeFileSync(file, readFileSync(file, 'utf8') + '{"key":"d","v":');
  expect(await appendRowsOnce(file, [{ key: 'e', v: 5 }])).toBe(1);
  const rows = await readJsonl<{ key: string }>(file);
  expect(rows.map((r) => r.key)).toEqual(['a', 'b', 'c', 'e']);
});

test('run ids are restricted to safe names', () => {
  expect(() => resolveRunDir('runs', '../etc')).toThrow(/run id must match.*"\.\.\/etc"/);
  expect(resolveRunDir('/tmp/runs', 'abc-1')).toBe('/tmp/runs/abc-1');
});
