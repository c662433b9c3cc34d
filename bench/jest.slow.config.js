/**
 * `make test-slow`: the jest tests that run the real SmolLM2-135M-Instruct, found by what they load
 * (its GGUF file, through the trainer's `smollm2_gguf_path`), rather than a list that goes stale. The
 * rest of the suite uses the tiny random model. They are part of `make test` too; this runs them alone.
 */
const fs = require('node:fs');
const path = require('node:path');
const base = require('../jest.config.js');

const ROOT = path.join(__dirname, '..');
const REAL_MODEL_MARK = 'smollm2_gguf_path';

function realModelTests(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return realModelTests(p);
    return e.name.endsWith('.test.ts') && fs.readFileSync(p, 'utf8').includes(REAL_MODEL_MARK) ? [p] : [];
  });
}

module.exports = {
  ...base,
  rootDir: '..',
  testMatch: realModelTests(path.join(ROOT, 'test')).map((p) => `<rootDir>/${path.relative(ROOT, p).split(path.sep).join('/')}`),
};
