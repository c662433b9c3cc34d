/** Pure formatting of a workflow's `status` query result into one progress line. */
export interface ProgressSample {
  at_ms: number;
  step: number;
}

export function bar(done: number, total: number, width = 24): string {
  if (!(total > 0)) return ' '.repeat(width);
  const frac = Math.max(0, Math.min(1, done / total));
  const full = Math.round(frac * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/** ETA from the first and latest observation of step progress. */
export function etaSeconds(first: ProgressSample | null, last: ProgressSample, total: number): number | null {
  if (!first || last.step <= first.step || total <= 0) return null;
  const rate = (last.step - first.step) / ((last.at_ms - first.at_ms) / 1000);
  return rate > 0 ? (total - last.step) / rate : null;
}

const num = (v: unknown, digits = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');

/** Pick step/total from any workflow's status (rl: batch/n_batches; gepa: budget used/limit; ...). */
export function stepOf(status: Record<string, unknown>): { step: number; total: number } {
  const pairs: Array<[string, string]> = [
    ['step', 'total'],
    ['batch', 'n_batches'],
    ['budget_used', 'budget_limit'],
    ['done', 'total'],
  ];
  for (const [a, b] of pairs) {
    if (typeof status[a] === 'number' && typeof status[b] === 'number') return { step: status[a] as number, total: status[b] as number };
  }
  return { step: 0, total: 0 };
}

export function formatProgress(status: Record<string, unknown>, eta: number | null): string {
  const { step, total } = stepOf(status);
  const parts = [
    `[${String(status.phase ?? '?')}]`,
    `${bar(step, total)} ${step}/${total}`,
    `reward ${num(status.reward)}`,
    `acc ${num(status.accuracy)}`,
  ];
  if ('test_accuracy' in status) parts.push(`test ${num(status.test_accuracy)}`);
  if ('best_val_score' in status) parts.push(`best prompt ${num(status.best_val_score)}`);
  if (status.paused) parts.push('PAUSED');
  parts.push(`ETA ${formatEta(eta)}`);
  return parts.join('  ');
}

/** The line shown once a run has completed: the last status seen, with its bar full and no ETA. */
export function completedProgress(last: Record<string, unknown>): string {
  const { total } = stepOf(last);
  return formatProgress({ ...last, phase: 'done', paused: false, step: total, total }, null).replace(/ {2}ETA --$/, '');
}
