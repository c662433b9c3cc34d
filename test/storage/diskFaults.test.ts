/**
 * Run-directory writes on a disk that refuses them, on real small file systems mounted in a private
 * mount namespace (`unshare -rm`): a read-only one and a full tmpfs. Each write fails with a
 * RunDirError (never retried) that names the file, the cause and what to do; on the full disk the
 * rows and the JSON file written before are intact (an atomic write leaves the old file whole and no
 * temporary file behind).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers/stack';

const CHILD = `
const { appendRowsOnce, readJsonl, writeJsonAtomic } = require(${JSON.stringify(path.join(ROOT, 'src/storage/runDir.ts'))});
const fs = require('node:fs');
(async () => {
  const [mode, dir] = process.argv.slice(2);
  const out = {};
  const attempt = async (name, f) => { try { await f(); out[name] = null; } catch (e) { out[name] = { name: e.name, message: e.message }; } };
  if (mode === 'full') {
    await appendRowsOnce(dir + '/run/metrics.jsonl', [{ key: 'batch-0', step: 1 }]);
    await writeJsonAtomic(dir + '/run/run.json', { status: 'running' });
    const st = fs.statfsSync(dir);
    fs.writeFileSync(dir + '/filler', Buffer.alloc(Number(st.bavail) * st.bsize)); // leave nothing
    await attempt('append', () => appendRowsOnce(dir + '/run/metrics.jsonl', [{ key: 'batch-1', step: 2, blob: 'x'.repeat(100000) }]));
    await attempt('json', () => writeJsonAtomic(dir + '/run/run.json', { status: 'completed', pad: 'x'.repeat(100000) }));
    out.rows = (await readJsonl(dir + '/run/metrics.jsonl')).map((r) => r.key);
    out.runJson = JSON.parse(fs.readFileSync(dir + '/run/run.json', 'utf8'));
    out.files = fs.readdirSync(dir + '/run').sort();
  } else {
    await attempt('json', () => writeJsonAtomic(dir + '/run/run.json', { status: 'running' }));
  }
  console.log('RESULT ' + JSON.stringify(out));
})();
`;

function inNamespace(mountOpts: string, mode: 'full' | 'ro', thenRemount = ''): Record<string, any> {
  const base = mkdtempSync(path.join(tmpdir(), 'gepa-rl-disk-'));
  const mnt = path.join(base, 'disk');
  mkdirSync(mnt);
  writeFileSync(path.join(base, 'child.js'), CHILD);
  const cmd = `mount -t tmpfs -o ${mountOpts} tmpfs ${mnt} && ${thenRemount.replace(/MNT/g, mnt) || 'true'} && exec ${process.execPath} -r ${path.join(ROOT, 'test/cli/tsRegister.js')} ${path.join(base, 'child.js')} ${mode} ${mnt}`;
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', cmd], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`unshare (util-linux) is needed for this test: ${r.error.message}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`child failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice(7));
}

test('a full disk: the write fails with what to do, and nothing already written is lost', () => {
  const out = inNamespace('size=1m', 'full');
  expect(out.append).toMatchObject({ name: 'RunDirError', message: expect.stringMatching(/cannot write .*metrics\.jsonl \(ENOSPC\): the disk is full: free space/) });
  expect(out.json).toMatchObject({ name: 'RunDirError', message: expect.stringMatching(/run\.json \(ENOSPC\)/) });
  expect(out.rows).toEqual(['batch-0']); // the earlier row is whole (a torn tail, if any, is skipped by readers)
  expect(out.runJson).toEqual({ status: 'running' }); // the old file, whole
  expect(out.files).toEqual(['metrics.jsonl', 'run.json']); // no temporary file left behind
});

test('a read-only run directory: RunDirError naming the file and the fix', () => {
  // the run directory exists (made before the file system became read-only), as after a remount
  const out = inNamespace('size=1m', 'ro', 'mkdir MNT/run && mount -o remount,ro MNT');
  expect(out.json).toMatchObject({ name: 'RunDirError', message: expect.stringMatching(/cannot write .*run\.json \(EROFS\): the file system is read-only: set run\.output_dir/) });
});
