/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // Workflow tests start a real Temporal dev server and the Python trainer; a slow or loaded CI
  // machine needs minutes, not seconds (DESIGN §8). Timings are never asserted.
  testTimeout: 600000,
  maxWorkers: 2,
};
