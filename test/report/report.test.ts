/** The HTML report: built from a run directory, self-contained, and rendered by headless Chromium. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { writeReport } from '../../src/report';

const CHROMIUM = '/usr/bin/chromium';
const EVIL = '<script>alert(1)</script>';

function fixture(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
  const rows = (f: string, xs: object[]) => {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), xs.map((x) => JSON.stringify(x)).join('\n') + '\n{"torn": ');
  };
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ run_id: 'fixture', workflow_type: 'gepaRlAlternation', status: 'completed' }));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ task: { env: 'arithmetic' }, gepa: { seed_prompt: EVIL } }));
  rows('round0_rl/metrics.jsonl', [
    { step: 0, 'progress/batch': 0, 'test/env/all/correct': 0.1 },
    ...[0, 1, 2, 3].map((b) => ({ step: b + 1, 'progress/batch': b, 'env/all/reward/total': 0.2 + b * 0.1, 'env/all/correct': 0.1 + b * 0.1 })),
    { step: 4, 'progress/batch': 3, 'test/env/all/correct': 0.4 },
  ]);
  rows('round1_gepa/metrics.jsonl', [10, 24, 38].map((c, i) => ({ step: i, 'gepa/metric_calls': c, 'gepa/best_val_score': 0.3 + i * 0.1 })));
  rows('round1_gepa/prompts.jsonl', [
    { candidate_id: 0, parent_ids: [], text: 'Answer the question.', val_score: 0.3, metric_calls: 10 },
    { candidate_id: 1, parent_ids: [0], text: 'Answer the question. Think step by step.', val_score: 0.4, metric_calls: 24 },
    { candidate_id: 2, parent_ids: [1], text: `Answer the question. Think step by step. ${EVIL}`, val_score: 0.5, metric_calls: 38 },
  ]);
  rows('round0_rl/samples.jsonl', [{ step: 0, prompt: [{ role: 'user', content: 'What is 2+2?' }], completion: EVIL, reward: 0, correct: false, feedback: 'Expected 4 & got <nothing>' }]);
  rows('round0_rl/checkpoints.jsonl', [{ step: 0, path: '/x/0', metrics: { loss: 0.5 } }]);
  return dir;
}

test('report.html is self-contained, escapes run text, and lists warnings for torn lines', async () => {
  const html = readFileSync(await writeReport(fixture()), 'utf8');
  expect(html).not.toContain(EVIL);
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(html).not.toMatch(/(src|href)=["']?https?:/);
  expect(html).not.toMatch(/<script/);
  for (const s of ['data-chart="train-reward"', 'data-chart="test-accuracy"', 'data-chart="gepa-best-val"', 'data-table="prompts"', 'data-section="lineage"', 'data-section="samples"']) {
    expect(html).toContain(s);
  }
  expect(html).toMatch(/metrics\.jsonl:\d+: not JSON, skipped/);
});

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
    expect(await points('train-reward')).toEqual([4, 4]);
    expect(await points('test-accuracy')).toEqual([2]);
    expect(await points('gepa-best-val')).toEqual([3]);
    const box = await page.$eval('svg[data-chart="train-reward"]', (e) => e.getBoundingClientRect().width);
    expect(box).toBeGreaterThan(200);
    expect(await page.$$eval('table[data-table="prompts"] tr', (r) => r.length)).toBe(4); // header + 3 prompts
    expect(await page.$$eval('[data-section="samples"] details', (d) => d.length)).toBe(1);
    expect(await page.$$eval('table[data-table="prompts"] ins', (d) => d.length)).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(mkdtempSync(path.join(tmpdir(), 'shot-')), 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
