/**
 * The learning curves: train reward and accuracy, test accuracy, GEPA's best val score, each on a
 * whole-run axis that counts on across the phases of an alternation.
 */
import { lineChart } from './charts';
import type { ReportData, Row } from './load';

const isTrainingRow = (m: Row) => typeof m['env/all/reward/total'] === 'number' || typeof m['test/env/all/correct'] === 'number';
/** batches (or rounds) done when the row was written: `step` in every training workflow's rows */
const stepsDone = (m: Row): number => (typeof m.step === 'number' ? m.step : typeof m['progress/batch'] === 'number' ? m['progress/batch'] + 1 : 0);
/** metric calls spent when a GEPA row was written */
const metricCalls = (m: Row) => (typeof m['gepa/metric_calls'] === 'number' ? m['gepa/metric_calls'] : typeof m.step === 'number' ? m.step : 0);

/**
 * The x of each row on a whole-run axis: a phase's steps are counted on from where the previous
 * phase of the same kind of chart ended, so round1_rl's batch 0 follows round0_rl's last batch.
 * Returns the x per row and a labelled marker where each phase starts.
 */
function acrossPhases(d: ReportData, rows: Row[], local: (m: Row) => number, inChart: (m: Row) => boolean): { x: Map<Row, number>; markers: Array<{ x: number; label: string }> } {
  const x = new Map<Row, number>();
  const markers: Array<{ x: number; label: string }> = [];
  let offset = 0;
  for (const phase of [null, ...d.phases]) {
    const mine = rows.filter((m) => (phase === null ? !d.phases.includes(m.phase) : m.phase === phase));
    if (!mine.length) continue;
    if (phase !== null) markers.push({ x: offset, label: phase });
    for (const m of mine) x.set(m, typeof m.global_step === 'number' ? m.global_step : offset + local(m));
    offset += Math.max(0, ...d.metrics.filter((m) => (phase === null ? !d.phases.includes(m.phase) : m.phase === phase) && inChart(m)).map(local));
  }
  return { x, markers: d.phases.length ? markers : [] };
}

export function learningCurves(d: ReportData): string[] {
  // the eval-0 row carries env/all/* too (its test scores, for the seeds' scripts): not a train batch
  const rl = d.metrics.filter((m) => typeof m['env/all/reward/total'] === 'number' && m.key !== 'eval-0');
  const test = d.metrics.filter((m) => typeof m['test/env/all/correct'] === 'number');
  const gepa = d.metrics.filter((m) => typeof m['gepa/best_val_score'] === 'number');
  // training and test share one axis: steps done, counted on across the training phases
  const trainAxis = acrossPhases(d, [...rl, ...test], stepsDone, isTrainingRow);
  const gepaAxis = acrossPhases(d, gepa, metricCalls, (m) => typeof m['gepa/best_val_score'] === 'number');
  const phased = d.phases.length > 0;
  const stepLabel = phased ? 'training steps done (batches; rounds in expert phases), counted across phases' : 'batches done';
  return [
    lineChart(
      'train-reward',
      'Train reward and accuracy per batch',
      stepLabel,
      [
        { name: 'accuracy', color: '#2ca02c', points: rl.filter((m) => typeof m['env/all/correct'] === 'number').map((m) => [trainAxis.x.get(m)!, m['env/all/correct']]) },
        { name: 'reward', color: '#1f4fb4', dash: '7 4', points: rl.map((m) => [trainAxis.x.get(m)!, m['env/all/reward/total']]) },
      ],
      { integerX: true, markers: trainAxis.markers },
    ),
    lineChart('test-accuracy', 'Test accuracy', stepLabel, [{ name: 'test accuracy', color: '#d62728', points: test.map((m) => [trainAxis.x.get(m)!, m['test/env/all/correct']]) }], {
      integerX: true,
      markers: trainAxis.markers,
    }),
    lineChart(
      'gepa-best-val',
      'GEPA best val score per metric call',
      phased ? 'metric calls, counted across GEPA phases' : 'metric calls',
      [{ name: 'best val score', color: '#9467bd', points: gepa.map((m) => [gepaAxis.x.get(m)!, m['gepa/best_val_score']]) }],
      { integerX: true, markers: gepaAxis.markers },
    ),
  ];
}
