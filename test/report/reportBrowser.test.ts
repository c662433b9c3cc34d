/** The HTML report rendered by headless Chromium (Debian's, driven by playwright-core): charts, tables, the lineage tree. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { writeReport } from '../../src/report';
import { fixture } from './fixture';

const CHROMIUM = '/usr/bin/chromium';

test('headless Chromium renders the charts and tables', async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-chromium.sh (make setup does)`);
  const file = await writeReport(fixture());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`file://${file}`);
    const points = async (chart: string) =>
      page.$$eval(`svg[data-chart="${chart}"] polyline`, (ps) => ps.map((p) => (p.getAttribute('points') ?? '').trim().split(/\s+/).length));
    expect(await points('train-reward')).toEqual([7, 7]);
    expect(await points('test-accuracy')).toEqual([4]);
    expect(await points('gepa-best-val')).toEqual([3]);
    const box = await page.$eval('svg[data-chart="train-reward"]', (e) => e.getBoundingClientRect().width);
    expect(box).toBeGreaterThan(200);
    expect(await page.$$eval('table[data-table="prompts"] tr', (r) => r.length)).toBe(7); // header + 6 prompts
    // every reflection proposal with its outcome and why it was rejected
    const props = await page.$$eval('table[data-table="proposals"] tr', (rs) => rs.slice(1).map((r) => [...r.children].map((c) => c.textContent)));
    expect(props.map((r) => [r[1], r[4], r[6]])).toEqual([
      ['1', 'accepted', '310 / 42'],
      ['2', 'rejected_reflection', '300 / 80'],
    ]);
    expect(props[1][5]).toBe('unfenced; first reply unfenced (asked again for a fence: gepa.fence_repair)');
    // minibatch scores behind a verdict, each problem's spread over its rollouts (gepa.rollouts_per_problem)
    expect(props[0][5]).toBe('minibatch parent [0, 0.5 ± 0.5] → child [1, 0.75 ± 0.25]');
    expect(await page.$$eval('[data-section="samples"] details', (d) => d.length)).toBe(1);
    expect(await page.$$eval('table[data-table="prompts"] ins', (d) => d.length)).toBeGreaterThan(0);

    // the reward line is dashed over the solid accuracy line, so it shows where they coincide
    const dash = (series: string) => page.$eval(`svg[data-chart="train-reward"] polyline[data-series="${series}"]`, (p) => p.getAttribute('stroke-dasharray'));
    expect(await dash('reward')).toBeTruthy();
    expect(await dash('accuracy')).toBeNull();

    // one whole-run axis: phases in run order (round0_rl, round0_expert, round1_rl), whole-number ticks, a marker per phase
    const xy = await page.$eval('svg[data-chart="train-reward"] polyline[data-series="accuracy"]', (p) =>
      (p.getAttribute('points') ?? '').trim().split(/\s+/).map((pt: string) => pt.split(',').map(Number)),
    ) as number[][];
    const ys = xy.map(([, y]) => y);
    // round0_rl's 4 batches, round0_expert's round, round1_rl's 2 batches; the plot maps 0..0.8 onto y 220..20
    expect(ys).toEqual([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8].map((v) => +(220 - (v / 0.8) * 200).toFixed(1)));
    const xs = xy.map(([x]) => x);
    for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThan(xs[i - 1]);
    const ticks = await page.$$eval('svg[data-chart="train-reward"] text.xtick', (t) => t.map((e) => e.textContent ?? ''));
    expect(ticks.length).toBeGreaterThan(2);
    for (const t of ticks) expect(t).toMatch(/^\d+$/);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(await page.$$eval('svg[data-chart="train-reward"] .marker-label', (t) => t.map((e) => e.textContent))).toEqual(['round0_rl', 'round0_expert', 'round1_rl']);

    // Pareto front: who is on it, how many instances each wins, the val score
    const pareto = await page.$$eval('table[data-table="pareto"] tr[data-candidate]', (rs) =>
      rs.map((r) => ({ id: r.getAttribute('data-candidate'), front: r.getAttribute('data-on-front'), cells: [...r.querySelectorAll('td')].map((td) => td.textContent) })),
    );
    expect(pareto.map((r) => [r.id, r.front])).toEqual([['0', 'true'], ['1', 'true'], ['2', 'true'], ['3', 'true'], ['4', 'true'], ['5', 'false']]);
    expect(pareto.map((r) => r.cells[3])).toEqual(['2 / 4', '2 / 4', '2 / 4', '1 / 4', '1 / 4', '0 / 4']);
    expect(pareto.map((r) => r.cells[4])).toEqual(['2', '0', '2', '0', '0', '0']);
    expect(pareto.map((r) => r.cells[2])).toEqual(['0.5', '0.5', '0.5', '0.25', '0.25', '0']);
    expect(pareto[1].cells[5]).toContain('dominated');
    expect(await page.$$eval('table[data-table="pareto-instances"] tr', (r) => r.slice(1).map((x) => x.lastElementChild?.textContent))).toEqual(['0, 1, 3', '1, 2', '2', '0, 4']);

    // lineage as a tree: 0 > 1 > 2 > {4 (merge of 2 + 3), 5}, and 0 > 3
    const under = (parent: number, child: number) => page.$$(`[data-tree="lineage"] li[data-candidate="${parent}"] > ul > li[data-candidate="${child}"]`).then((x) => x.length);
    expect(await under(0, 1)).toBe(1);
    expect(await under(1, 2)).toBe(1);
    expect(await under(2, 4)).toBe(1);
    expect(await under(2, 5)).toBe(1);
    expect(await under(0, 3)).toBe(1);
    expect(await page.$$eval('[data-tree="lineage"] > li', (r) => r.map((x) => x.getAttribute('data-candidate')))).toEqual(['0']);
    expect(await page.$eval('[data-tree="lineage"] li[data-candidate="4"]', (e) => e.textContent)).toContain('merge of 2 + 3');
    const indent = (id: number) => page.$eval(`[data-tree="lineage"] li[data-candidate="${id}"] > b`, (e) => e.getBoundingClientRect().left);
    expect(await indent(2)).toBeGreaterThan(await indent(1));
    expect(await indent(1)).toBeGreaterThan(await indent(0));

    expect(errors).toEqual([]);
    await page.screenshot({ path: process.env.REPORT_SCREENSHOT ?? path.join(mkdtempSync(path.join(tmpdir(), 'shot-')), 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
