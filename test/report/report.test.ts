/** The HTML report: built from a run directory, self-contained, its text escaped (the browser test: reportBrowser.test.ts). */
import { readFileSync } from 'node:fs';
import { loadReportData, orderPhases, writeReport } from '../../src/report';
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
