/**
 * `make test-unit`: the tests that start nothing — no Temporal server, no trainer or grader
 * process, no model, no LM server, no browser, no workflow bundle — so the tier runs in seconds
 * (core rules, config, CLI parsing, tasks and graders, storage, report data). A test file is in
 * it unless its text holds one of the marks below, so a new test lands in the right tier without a
 * list to keep: what it imports or spawns decides. `make test` runs every file, these included.
 */
const fs = require('node:fs');
const path = require('node:path');
const base = require('./jest.config.js');

const ROOT = __dirname;
const STARTS_SOMETHING = [
  '@temporalio/testing', // a dev server or a time-skipping test server
  '@temporalio/worker', // a worker, or a workflow bundle built with webpack
  'helpers/stack', // the trainer worker, the LM server, the stack
  'helpers/tmpfs', // mounts a tmpfs
  'child_process', // spawns a process (the CLI, python, stack.sh)
  'playwright-core', // chromium
  'smollm2_gguf_path', // the real model
  'mathVerifyBatch', // the Python Math-Verify grader
  "grader: 'math'", // a math line sent to that grader
  'createServer', // an HTTP server (fake providers)
  'replayHistory', // bundles the workflows with webpack to replay histories
];

function unitTests(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return unitTests(p);
    if (!e.name.endsWith('.test.ts')) return [];
    const text = fs.readFileSync(p, 'utf8');
    return STARTS_SOMETHING.some((m) => text.includes(m)) ? [] : [p];
  });
}

module.exports = {
  ...base,
  testMatch: unitTests(path.join(ROOT, 'test')).map((p) => `<rootDir>/${path.relative(ROOT, p).split(path.sep).join('/')}`),
  testTimeout: 60000,
};
