/**
 * Fast–slow training's side effects on traces (src/workflows/fastSlowTraining.ts): the reflector's
 * evidence cut out of the RL batches' traces (rollouts already sampled: no policy call), and every
 * rollout's row with the prompt it was sampled under. Thin: the rows to take are the core's.
 */
import { FileBlobStore, readBlob } from '../storage/blobs';
import type { BlobRef } from '../types';
import { appendRows } from './run';
import type { ScoredSample } from './tasks';

/** The traces at `rows` of each part (positions in that batch's traces blob) as one traces blob. */
export async function selectTraces(req: { parts: Array<{ traces_ref: BlobRef; rows: number[] }>; blob_dir: string }): Promise<{ traces_ref: BlobRef; n: number }> {
  const out: ScoredSample[] = [];
  for (const part of req.parts) {
    const traces = await readBlob<ScoredSample[]>(part.traces_ref);
    for (const k of part.rows) {
      const t = traces[k];
      if (!t) throw new Error(`trace row ${k} asked for, but the batch's traces hold ${traces.length}`);
      out.push(t);
    }
  }
  return { traces_ref: await new FileBlobStore(req.blob_dir).put(out), n: out.length };
}

/**
 * rollouts.jsonl: one row per rollout of a fast–slow batch, with the id of the prompt it was sampled
 * under (row_prompt[k] for trace k), keyed by (step, row) so a retried write adds nothing.
 */
export async function writeRolloutRows(req: { run_dir: string; traces_ref: BlobRef; step: number; row_prompt: number[] }): Promise<number> {
  const traces = await readBlob<ScoredSample[]>(req.traces_ref);
  if (traces.length !== req.row_prompt.length) throw new Error(`${traces.length} traces for ${req.row_prompt.length} planned rollouts`);
  const rows = traces.map((t, k) => ({
    key: `fs-${req.step}-${k}`,
    step: req.step,
    row: k,
    index: t.index,
    prompt_id: req.row_prompt[k],
    reward: t.reward,
    correct: t.correct,
    format_ok: t.format_ok,
    num_tokens: t.num_tokens,
    output: t.output.length > 400 ? t.output.slice(0, 400) + '…' : t.output,
  }));
  return appendRows({ run_dir: req.run_dir, file: 'rollouts.jsonl', rows });
}
