/**
 * Fixture parity with tau2's Python (data/tau2_airline/fixtures, computed with the upstream code on
 * this db.json): the canonical DB hash, every tool probe's response, and the 50 gold hashes.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadAirlineDb } from '../../../src/tasks/tau2/db';
import { AirlineEnv } from '../../../src/tasks/tau2/env';
import { AIRLINE_TOOLS } from '../../../src/tasks/tau2/tools';
import { loadTau2Tasks } from '../../../src/tasks/tau2/data';

const FIX = path.join(__dirname, '../../../data/tau2_airline/fixtures');
const fixture = <T>(f: string): T => JSON.parse(readFileSync(path.join(FIX, f), 'utf8')) as T;

interface Probe { label: string; steps: { tool: string; args: Record<string, unknown>; error: boolean; response: string }[]; db_changed: boolean; final_hash: string }
interface Gold { initial_hash: string; tool_types: Record<string, string>; tasks: { id: string; gold_hash: string; changes_db: boolean; gold_responses: { name: string; error: boolean; response: string }[] }[] }

const probes = fixture<Probe[]>('tool_probes.json');
const gold = fixture<Gold>('gold_replay.json');

test('the initial DB hash equals the Python one', () => {
  expect(loadAirlineDb().hash()).toBe('7d1714e959830778e6b38d63428b660ef6c9009261f0adaa178adb97bfb469d6');
  expect(new AirlineEnv().hash()).toBe(gold.initial_hash);
});

test('tool kinds are tau2\'s (write tools are the ones evaluation replays)', () => {
  expect(Object.fromEntries(AIRLINE_TOOLS.map((t) => [t.name, t.kind]))).toEqual(gold.tool_types);
});

describe('tool probes', () => {
  test.each(probes.map((p) => [p.label, p] as const))('%s', (_label, p) => {
    const env = new AirlineEnv();
    for (const s of p.steps) {
      const r = env.call(s.tool, s.args);
      expect({ tool: s.tool, error: r.error, response: r.content }).toEqual({ tool: s.tool, error: s.error, response: s.response });
    }
    expect(env.hash() !== gold.initial_hash).toBe(p.db_changed);
    expect(env.hash()).toBe(p.final_hash);
  });
  test(`there are ${probes.length} probes with ${probes.reduce((a, p) => a + p.steps.length, 0)} calls`, () => {
    expect(probes.length).toBeGreaterThanOrEqual(40);
  });
});

describe('gold replay: 50 tasks', () => {
  const tasks = loadTau2Tasks();
  test.each(gold.tasks.map((g) => [g.id, g] as const))('task %s', (id, g) => {
    const task = tasks.find((t) => t.id === id)!;
    const env = new AirlineEnv();
    const responses = task.evaluation_criteria.actions.map((a) => ({ name: a.name, ...env.call(a.name, a.arguments) }));
    expect(responses.map((r) => ({ name: r.name, error: r.error, response: r.content }))).toEqual(g.gold_responses);
    expect(env.hash()).toBe(g.gold_hash);
    expect(env.hash() !== gold.initial_hash).toBe(g.changes_db);
  });
  test('26 tasks change the DB', () => {
    expect(gold.tasks.filter((g) => g.changes_db)).toHaveLength(26);
  });
});

test('a copy-on-write view never changes the shared base', () => {
  const base = loadAirlineDb();
  const env = new AirlineEnv(base);
  env.call('cancel_reservation', { reservation_id: 'NO6JO3' });
  expect(env.hash()).not.toBe(base.hash());
  expect(base.data.reservations.NO6JO3.status).toBeNull();
  expect(new AirlineEnv(base).hash()).toBe(gold.initial_hash);
});

describe('corrupted gold lists match tau2 on whether they reach the gold state', () => {
  const tasks = loadTau2Tasks();
  const kinds = (k: string) => (k.startsWith('extra_cancel_') ? 'extra_cancel' : k);
  const rows = gold.tasks.flatMap((g) => ((g as unknown as { variants: { kind: string; matches_gold: boolean }[] }).variants ?? []).filter((v) => kinds(v.kind) !== 'extra_reads_and_generic_prepended').map((v) => [g.id, v.kind, v.matches_gold] as const));
  test.each(rows)('task %s %s: matches gold = %s', (id, kind, expected) => {
    const task = tasks.find((t) => t.id === id)!;
    const acts = task.evaluation_criteria.actions.map((a) => ({ name: a.name, arguments: a.arguments }));
    const isW = (n: string) => AIRLINE_TOOLS.find((t) => t.name === n)?.kind === 'write';
    const writes = acts.filter((a) => isW(a.name));
    let list = acts;
    if (kind === 'drop_all_writes') list = acts.filter((a) => !isW(a.name));
    else if (kind === 'drop_last_write') list = acts.filter((a) => a !== writes[writes.length - 1]);
    else if (kind === 'duplicate_first_write') list = acts.flatMap((a) => (a === writes[0] ? [a, a] : [a]));
    else if (kind === 'writes_reversed') list = [...writes].reverse();
    else if (kind.startsWith('extra_cancel_')) list = [...acts, { name: 'cancel_reservation', arguments: { reservation_id: kind.slice('extra_cancel_'.length) } }];
    const env = new AirlineEnv();
    for (const a of list) env.call(a.name, a.arguments);
    expect(env.hash() === g(id)).toBe(expected);
  });
  const g = (id: string) => gold.tasks.find((t) => t.id === id)!.gold_hash;
  test('the extra-cancel corruption covers 42 tasks', () => expect(rows.filter((r) => r[1].startsWith('extra_cancel_'))).toHaveLength(42));
});
