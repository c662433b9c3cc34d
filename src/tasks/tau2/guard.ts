/**
 * Checks on a proposed airline policy before GEPA adopts it (spec §3.7): the policy must keep the
 * line that fixes "now" (the 24-hour cancellation rule depends on it), and must not introduce
 * task-specific ids the reflector copied from its records (user ids, reservation ids, flight
 * numbers), which would overfit the train tasks. Ids already in the current text are allowed.
 */
export const TIME_LINE = 'The current time is 2024-05-15 15:00:00 EST.';

const ID_PATTERNS: [string, RegExp][] = [
  ['user id', /\b[a-z]+_[a-z]+_\d{3,5}\b/g],
  ['flight number', /\bHAT\d{3}\b/g],
  ['reservation id', /\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6}\b/g],
];

/** null when acceptable; else why not (shown to the reflector as the rejection). */
export function checkAirlinePolicy(proposed: string, current: string): string | null {
  if (current.includes(TIME_LINE) && !proposed.includes(TIME_LINE)) return `the policy must keep the line "${TIME_LINE}" (the cancellation rules depend on it)`;
  const found: string[] = [];
  const seen = new Set<string>();
  for (const [what, re] of ID_PATTERNS) {
    for (const m of proposed.matchAll(re)) {
      if (current.includes(m[0]) || seen.has(m[0])) continue;
      seen.add(m[0]);
      found.push(`${what} ${m[0]}`);
    }
  }
  if (found.length) return `the policy must state general rules, not specific cases: it introduces ${found.slice(0, 5).join(', ')}`;
  return null;
}
