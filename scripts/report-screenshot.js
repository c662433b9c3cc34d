#!/usr/bin/env node
// The report picture (docs/report.png, in docs/OPERATING.md): a run's report.html rendered by Debian's chromium (the one the
// report test uses, scripts/install-chromium.sh) and saved as a PNG of the top of the page.
//   node scripts/report-screenshot.js runs/<id>/report.html docs/report.png [height]
const path = require('node:path');
const { chromium } = require('playwright-core');

async function main() {
  const [src, out, height = '2700'] = process.argv.slice(2);
  if (!src || !out) throw new Error('usage: node scripts/report-screenshot.js <report.html> <out.png> [height in px, default 2700]');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`file://${path.resolve(src)}`);
    const full = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1200, height: Math.min(full, Number(height)) } });
    console.log(`wrote ${out}: 1200 x ${Math.min(full, Number(height))} px of ${full}`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
