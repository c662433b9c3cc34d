/**
 * Replays every committed history under test/histories/ against the current workflow code, so a
 * change that breaks determinism fails CI (DESIGN §6). Histories come from real runs
 * (UPDATE_HISTORIES=1 with the workflow tests): one `<type>.json` per workflow type, recorded by the
 * current code. There are no runs outside this repository yet, hence no `patched()` markers and no
 * older histories; docs/COMPATIBILITY.md says when that changes (`<type>.<commit>.json` beside a patch).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { replayHistory } from '../../src/cli/replay';
import { WORKFLOW_TYPES } from '../../src/constants';

const DIR = path.resolve(__dirname, '../histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const load = (f: string) => JSON.parse(readFileSync(path.join(DIR, f), 'utf8'));

test('histories of the workflows are committed', () => {
  const types = files.map((f) => load(f).events[0].workflowExecutionStartedEventAttributes.workflowType.name);
  expect(types).toEqual(expect.arrayContaining([...WORKFLOW_TYPES]));
});

test.each(files)('history %s replays deterministically with the current code', async (f) => {
  const r = await replayHistory(load(f), f);
  expect(r.message).toMatch(/succeeded/);
  expect(r.ok).toBe(true);
});

test('a history of another workflow type is reported, not replayed', async () => {
  const h = load('evaluatePrompt.json');
  h.events[0].workflowExecutionStartedEventAttributes.workflowType.name = 'someoneElsesWorkflow';
  const r = await replayHistory(h);
  expect(r.ok).toBe(false);
  expect(r.message).toMatch(/someoneElsesWorkflow.*does not define/);
});

test('a history whose commands differ from the code is a determinism error', async () => {
  const h = load('evaluatePrompt.json');
  const scheduled = h.events.find((e: any) => e.activityTaskScheduledEventAttributes);
  scheduled.activityTaskScheduledEventAttributes.activityType.name = 'notTheActivityTheCodeCalls';
  const r = await replayHistory(h);
  expect(r.ok).toBe(false);
  expect(r.message).toMatch(/determinism|nondetermin/i);
});
