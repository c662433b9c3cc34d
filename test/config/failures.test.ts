/**
 * One list of failure type names (src/failure-types.json) for TS and Python: every type the TS source
 * raises is in it, every Python trainer type is in it, and what the activity proxies never retry is
 * drawn from it. Reads the source text, so a new literal type name cannot slip past the list.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { FAILURE, NON_RETRYABLE } from '../../src/failures';
import { DatasetError } from '../../src/tasks/datasets';
import { RunDirError } from '../../src/storage/runDir';
import { PROVIDER_CONFIG_FAILURE } from '../../src/llm/errors';

const ROOT = path.resolve(__dirname, '../..');

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

test('every failure type named in the TS source is in src/failure-types.json', () => {
  const named = new Set<string>();
  for (const f of files(path.join(ROOT, 'src'), '.ts')) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\btype:\s*'([A-Z][A-Za-z0-9]+)'/g)) named.add(m[1]);
    for (const m of text.matchAll(/ApplicationFailure\.nonRetryable\([^;]*?,\s*'([A-Za-z0-9]+)'\)/gs)) named.add(m[1]);
  }
  const known = new Set(Object.keys(FAILURE));
  // provider HTTP failures are typed by status (ProviderHttp429 ...), built, not named
  expect([...named].filter((n) => !known.has(n) && !n.startsWith('ProviderHttp'))).toEqual([]);
});

test('error classes thrown by TS activities carry their failure type as name', () => {
  expect(new DatasetError('x').name).toBe(FAILURE.DatasetError);
  expect(new RunDirError('x').name).toBe(FAILURE.RunDirError);
  expect(PROVIDER_CONFIG_FAILURE).toBe('ProviderConfig');
});

test('dataset, run-directory and provider-config failures are never retried by the TS activity proxy', () => {
  expect(NON_RETRYABLE.ts_activities).toEqual(expect.arrayContaining(['DatasetError', 'RunDirError', 'ProviderConfig', 'InvalidConfig']));
  expect(NON_RETRYABLE.trainer_activities).toEqual(expect.arrayContaining(['InvalidRequest', 'NonFiniteLoss']));
  for (const list of Object.values(NON_RETRYABLE)) for (const t of list) expect(Object.keys(FAILURE)).toContain(t);
});

test('the Python trainer raises only types of the shared list', () => {
  const py = files(path.join(ROOT, 'trainer/gepa_rl_trainer'), '.py').map((f) => readFileSync(f, 'utf8')).join('\n');
  expect([...py.matchAll(/type="([A-Za-z]+)"/g)].map((m) => m[1])).toEqual([]); // names come from errors.FAILURE, never literals
  for (const m of py.matchAll(/FAILURE\["([A-Za-z]+)"\]/g)) expect(Object.keys(FAILURE)).toContain(m[1]);
});
