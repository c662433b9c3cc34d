/** A run directory for the report tests: an alternation's phases, GEPA candidates and proposals, run text with markup, a torn last line in every file. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const EVIL = '<script>alert(1)</script>';

export function fixture(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
  const rows = (f: string, xs: object[]) => {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), xs.map((x) => JSON.stringify(x)).join('\n') + '\n{"torn": ');
  };
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ run_id: 'fixture', workflow_type: 'gepaRlAlternation', status: 'completed' }));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ task: { env: 'arithmetic' }, gepa: { seed_prompt: EVIL } }));
  rows('round0_rl/metrics.jsonl', [
    { step: 0, 'progress/batch': 0, 'test/env/all/correct': 0.1 },
    ...[0, 1, 2, 3].map((b) => ({ step: b + 1, 'progress/batch': b, 'env/all/reward/total': 0.2 + b * 0.1, 'env/all/correct': 0.1 + b * 0.1 })),
    { step: 4, 'progress/batch': 3, 'test/env/all/correct': 0.4 },
  ]);
  // expert runs after rl within a round (alphabetical order would put it first)
  rows('round0_expert/metrics.jsonl', [{ step: 1, 'progress/batch': 0, 'env/all/reward/total': 0.6, 'env/all/correct': 0.6 }]);
  rows('round1_gepa/metrics.jsonl', [10, 24, 38].map((c, i) => ({ step: i, 'gepa/metric_calls': c, 'gepa/best_val_score': 0.3 + i * 0.1 })));
  // val_scores per instance: fronts {0,1,3} {1,2} {2} {0,4}; after removing dominated ones, 0 and 2 win 2 each
  const cand = (id: number, parents: number[], text: string, val_scores: number[]) => ({
    candidate_id: id,
    parent_ids: parents,
    text,
    val_scores,
    val_score: val_scores.reduce((a, b) => a + b, 0) / val_scores.length,
    metric_calls: 10 + id * 7,
  });
  rows('round1_gepa/prompts.jsonl', [
    cand(0, [], 'Answer the question.', [1, 0, 0, 1]),
    cand(1, [0], 'Answer the question. Think step by step.', [1, 1, 0, 0]),
    cand(2, [1], `Answer the question. Think step by step. ${EVIL}`, [0, 1, 1, 0]),
    cand(3, [0], 'Answer the question briefly.', [1, 0, 0, 0]),
    cand(4, [2, 3], 'Answer briefly, step by step.', [0, 0, 0, 1]),
    cand(5, [2], 'Answer.', [0, 0, 0, 0]),
  ]);
  rows('round1_gepa/proposals.jsonl', [
    { iteration: 1, component: 'system_prompt', parent_id: 0, outcome: 'accepted', reason: null, tokens_in: 310, tokens_out: 42, text: 'Answer the question. Think step by step.', parent_minibatch: [0, 0.5], child_minibatch: [1, 0.75], parent_minibatch_spread: [0, 0.5], child_minibatch_spread: [0, 0.25] },
    { iteration: 2, component: 'system_prompt', parent_id: 1, outcome: 'rejected_reflection', reason: 'unfenced', first_reply_unfenced: true, tokens_in: 300, tokens_out: 80, text: EVIL },
  ]);
  rows('round1_rl/metrics.jsonl', [
    { step: 0, 'progress/batch': 0, 'test/env/all/correct': 0.4 },
    ...[0, 1].map((b) => ({ step: b + 1, 'progress/batch': b, 'env/all/reward/total': 0.7 + b * 0.1, 'env/all/correct': 0.7 + b * 0.1 })),
    { step: 2, 'progress/batch': 1, 'test/env/all/correct': 0.5 },
  ]);
  rows('round0_rl/samples.jsonl', [{ step: 0, prompt: [{ role: 'user', content: 'What is 2+2?' }], completion: EVIL, reward: 0, correct: false, feedback: 'Expected 4 & got <nothing>' }]);
  rows('round0_rl/checkpoints.jsonl', [{ step: 0, path: '/x/0', metrics: { loss: 0.5 } }]);
  return dir;
}
