#!/usr/bin/env node
// Sum jest's JSON report, pytest's JUnit XML and the static checks (typecheck, ruff: one test each)
// into the one line CI reads: "N passed, N failed". A missing report counts as one failure (the
// runner crashed before writing it).
const fs = require('fs');
const path = require('path');
const dir = process.argv[2] || '.data/test-results';
let passed = 0;
let failed = 0;
const notes = [];

const jestFile = path.join(dir, 'jest.json');
if (fs.existsSync(jestFile)) {
  const j = JSON.parse(fs.readFileSync(jestFile, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests;
  // a suite that fails to load has no tests but must not pass silently
  const broken = (j.testResults || []).filter((r) => r.status === 'failed' && (r.assertionResults || []).length === 0);
  failed += broken.length;
  notes.push(`jest: ${j.numPassedTests} passed, ${j.numFailedTests + broken.length} failed, ${j.numPendingTests} skipped`);
} else {
  failed += 1;
  notes.push(`jest: no report at ${jestFile}`);
}

const pyFile = path.join(dir, 'pytest.xml');
if (fs.existsSync(pyFile)) {
  const xml = fs.readFileSync(pyFile, 'utf8');
  const m = /<testsuite\b[^>]*>/.exec(xml);
  const attr = (name) => Number((new RegExp(`\\b${name}="(\\d+)"`).exec(m ? m[0] : '') || [0, 0])[1]);
  const total = attr('tests');
  const f = attr('failures') + attr('errors');
  const s = attr('skipped');
  passed += total - f - s;
  failed += f;
  notes.push(`pytest: ${total - f - s} passed, ${f} failed, ${s} skipped`);
} else {
  failed += 1;
  notes.push(`pytest: no report at ${pyFile}`);
}
// the static checks (scripts/static-checks.sh): one test each; a check that did not run is a failure
for (const name of ['typecheck', 'ruff']) {
  const rcFile = path.join(dir, `${name}.rc`);
  if (!fs.existsSync(rcFile)) {
    failed += 1;
    notes.push(`${name}: no result at ${rcFile}`);
  } else if (fs.readFileSync(rcFile, 'utf8').trim() === '0') {
    passed += 1;
    notes.push(`${name}: passed`);
  } else {
    failed += 1;
    notes.push(`${name}: failed (${path.join(dir, `${name}.log`)})`);
  }
}
for (const n of notes) console.log(n);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
