/** Benchmarks are not tests: run with `npx jest -c bench/tau2-cost/jest.config.js` (no make target). */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/bench/tau2-cost'],
  testMatch: ['**/*.bench.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testTimeout: 600000,
};
