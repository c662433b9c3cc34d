/** The shape every workflow's `status` shares (src/workflows/messages.ts StatusBase), checked on a live answer. */
import { PROGRESS_UNITS, type ProgressUnit, type StatusBase } from '../../src/workflows/messages';

export function expectStatusShape(status: unknown, unit: ProgressUnit): asserts status is StatusBase {
  expect(status).toMatchObject({ phase: expect.any(String), paused: expect.any(Boolean), progress: { done: expect.any(Number), total: expect.any(Number), unit } });
  const p = (status as StatusBase).progress;
  expect(PROGRESS_UNITS).toContain(p.unit);
  expect(Number.isInteger(p.done) && p.done >= 0).toBe(true); // a count
  // the total is 0 while unknown; once known, done never passes it
  if (p.total > 0) expect(p.done).toBeLessThanOrEqual(p.total);
}
