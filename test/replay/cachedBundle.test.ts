/**
 * The TS worker's workflow bundle is made once per build and reused by every later start (a restarted
 * worker polls again without ~25 s of webpack on a busy CPU), and the cached bundle is the real
 * thing: a committed history replays with it, the error boundary compiled in.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { cachedWorkflowBundle, KEEP_OLD_BUNDLES } from '../../src/workflowBundle';

test('bundled once, then reused; a committed history replays with the cached bundle', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-'));
  const first = await cachedWorkflowBundle(dir);
  const made = statSync(first.workflowBundle.codePath).mtimeMs;
  const second = await cachedWorkflowBundle(dir);
  expect(second.workflowBundle.codePath).toBe(first.workflowBundle.codePath);
  expect(statSync(second.workflowBundle.codePath).mtimeMs).toBe(made); // not bundled again
  expect(readdirSync(dir)).toEqual([path.basename(first.workflowBundle.codePath)]); // no temporary file left
  expect(second.interceptors.activity.length).toBe(1); // the heartbeat pulse
  const history = JSON.parse(readFileSync(path.resolve(__dirname, '../histories/rlTraining.json'), 'utf8'));
  await Worker.runReplayHistory(second, history, 'cached-bundle');
}, 300_000);

test('a new bundle prunes those of older builds, keeping the newest few; other files are left alone', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-'));
  const olds = ['0000000000000001', '0000000000000002', '0000000000000003', '0000000000000004'].map((h, i) => {
    const f = path.join(dir, `workflow-bundle-${h}.js`);
    writeFileSync(f, '// an older build');
    utimesSync(f, 1_000_000 + i, 1_000_000 + i); // ...0004 the newest
    return path.basename(f);
  });
  writeFileSync(path.join(dir, 'notes.txt'), 'not a bundle');
  const b = await cachedWorkflowBundle(dir);
  expect(KEEP_OLD_BUNDLES).toBe(2);
  expect(readdirSync(dir).sort()).toEqual([path.basename(b.workflowBundle.codePath), olds[2], olds[3], 'notes.txt'].sort());
}, 300_000);
