/** Benchmarks are not tests: run with `npx jest -c bench/graders/jest.config.js` (make bench-graders). */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/bench/graders'],
  testMatch: ['**/*.bench.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testTimeout: 600000,
};
