/** The HTML report: built from a run directory, self-contained, its text escaped (the browser test: reportBrowser.test.ts). */
import { readFileSync } from 'node:fs';
import { loadReportData, orderPhases, writeReport } from '../../src/report';
import { promptRows } from '../../src/report/sections';
import { EVIL, fixture } from './fixture';

test('report.html is self-contained, escapes run text, and lists warnings for torn lines', async () => {
  const html = readFileSync(await writeReport(fixture()), 'utf8');
  expect(html).not.toContain(EVIL);
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(html).not.toMatch(/(src|href)=["']?https?:/);
  expect(html).not.toMatch(/<script/);
  for (const s of ['data-chart="train-reward"', 'data-chart="test-accuracy"', 'data-chart="gepa-best-val"', 'data-table="prompts"', 'data-table="pareto"', 'data-tree="lineage"', 'data-section="samples"', 'data-table="proposals"']) {
    expect(html).toContain(s);
  }
  expect(html).toMatch(/metrics\.jsonl:\d+: not JSON, skipped/);
});

test('phase folders are ordered by round, then gepa, rl, expert', () => {
  expect(orderPhases(['round1_rl', 'round10_gepa', 'round0_expert', 'round0_rl', 'round2_gepa', 'round0_gepa', 'round1_gepa'])).toEqual([
    'round0_gepa',
    'round0_rl',
    'round0_expert',
    'round1_gepa',
    'round1_rl',
    'round2_gepa',
    'round10_gepa',
  ]);
  expect(loadReportData(fixture()).phases).toEqual(['round0_rl', 'round0_expert', 'round1_gepa', 'round1_rl']);
});

test("the prompt table lists candidates by id within each phase, whatever order parallel iterations wrote them in", () => {
  const row = (phase: string, id: number, text: string) => ({ phase, candidate_id: id, parent_ids: id ? [0] : [], val_score: 0.5, components: { system_prompt: text } });
  const d = loadReportData(fixture());
  d.prompts = [row('gepa', 0, 'seed'), row('gepa', 2, 'second'), row('gepa', 1, 'first'), row('round1_gepa', 1, 'r1 first'), row('round1_gepa', 0, 'r1 seed')];
  const ids = promptRows(d).map((tr) => tr.match(/^<tr><td>([^<]*)<\/td><td>(\d+)<\/td>/)!.slice(1, 3).join(':'));
  expect(ids).toEqual(['gepa:0', 'gepa:1', 'gepa:2', 'round1_gepa:0', 'round1_gepa:1']);
});
