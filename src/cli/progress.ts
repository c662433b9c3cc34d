/** Pure formatting of a workflow's `status` query result into one progress line. */
import type { StatusBase } from '../workflows/messages';

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

/** What the progress line reads: the shared status shape, and the scores some workflows add. */
export type DrawnStatus = StatusBase & {
  reward?: number | null;
  accuracy?: number | null;
  test_accuracy?: number | null;
  best_val_score?: number | null;
};

/** step/total of a status: its shared `progress` (every workflow type answers one, messages.ts). */
export function stepOf(status: DrawnStatus): { step: number; total: number } {
  return { step: status.progress.done, total: status.progress.total };
}

export function formatProgress(status: DrawnStatus, eta: number | null): string {
  const { done, total, unit } = status.progress;
  const parts = [
    `[${status.phase}]`,
    `${bar(done, total)} ${done}/${total} ${unit}`,
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
export function completedProgress(last: DrawnStatus): string {
  const full = { ...last.progress, done: last.progress.total };
  return formatProgress({ ...last, phase: 'done', paused: false, progress: full }, null).replace(/ {2}ETA --$/, '');
}
