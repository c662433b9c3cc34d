/**
 * The seeds' outputs (issue 23), by hand: GEPA's final row carries tinker-cookbook's GEPA recipe
 * names (final/best_score, final/test_score, final/num_candidates, final/total_metric_calls) and
 * best_prompt.txt its layout; the eval-0 row carries env/all/correct and env/all/reward/total as every
 * batch row; trace statistics also under generate_traces.py's names; `sft traces_file=` reads the
 * seeds' {"question", "answer"} JSONL.
 */
import { addEvaluatedCandidate, bestPromptText, finalMetricsRow, initState } from '../../src/core/gepa';
import { chooseTraces } from '../../src/core/expert';
import { finalNumber, parseTracesFile } from '../../src/core/expert/traceFile';
import { initialEvalRow } from '../../src/core/metrics';

test('GEPA final row: best score, test score, candidates and metric calls under the recipe names', () => {
  const st = initState({ seed: 1, components: { system_prompt: 's', sub: 'u' }, val_size: 2, train_size: 10, max_metric_calls: 100, minibatch_size: 2 });
  addEvaluatedCandidate(st, { components: { system_prompt: 's', sub: 'u' }, parents: [], val_scores: [1, 0] });
  addEvaluatedCandidate(st, { components: { system_prompt: 's2', sub: 'u' }, parents: [0], val_scores: [1, 1] });
  st.budget.metric_calls = 9;
  const fin = finalMetricsRow(st, { test_score: 0.75, seed_test_score: 0.5, n_test: 4 });
  expect(fin).toMatchObject({ 'final/best_score': 1, 'final/test_score': 0.75, 'final/num_candidates': 2, 'final/total_metric_calls': 9 });
  // without eval_test, as the recipe: no test score
  expect(finalMetricsRow(st, null)).not.toHaveProperty('final/test_score');
  // best_prompt.txt: "=== <component> ===", its text, a blank line, in component order
  expect(bestPromptText(st, 1)).toBe('=== system_prompt ===\ns2\n\n=== sub ===\nu\n\n');
});

test('the eval-0 row carries env/all/correct and env/all/reward/total (its evaluation\'s) beside the test/ names', () => {
  expect(initialEvalRow({ accuracy: 0.5, reward: 0.25 })).toEqual({
    key: 'eval-0',
    step: 0,
    'progress/batch': 0,
    'test/env/all/correct': 0.5,
    'test/env/all/reward/total': 0.25,
    'env/all/correct': 0.5,
    'env/all/reward/total': 0.25,
  });
});

test("trace statistics under generate_traces.py's names, by hand", () => {
  // problem 1 solved at attempt 2, problem 3 at attempt 1, problem 2 falls back (3 attempts)
  const T = (index: number, sample_index: number, correct: boolean) => ({ index, sample_index, correct, output: `${index}.${sample_index}` });
  const { stats } = chooseTraces([1, 2, 3], [T(1, 0, false), T(1, 1, true), T(2, 0, false), T(3, 0, true)], (i) => (i === 2 ? 'ref' : undefined), 3);
  expect(stats).toMatchObject({
    total_samples: 3,
    grpo_successes: 2,
    fallback_count: 1,
    success_rate: 2 / 3,
    avg_attempts_for_successes: (2 + 1) / 2,
    avg_attempts_overall: (2 + 3 + 1) / 3,
  });
  expect(chooseTraces([], [], () => undefined, 3).stats).toMatchObject({ total_samples: 0, avg_attempts_for_successes: 0, avg_attempts_overall: 0 });
});

test('a traces file: sft_examples.json as before, or the seeds\' {"question", "answer"} JSONL; bad rows named by line', () => {
  const ex = [{ messages: [{ role: 'user', content: 'q' }], completion: 'c' }];
  expect(parseTracesFile(JSON.stringify(ex), 'f.json')).toEqual({ layout: 'sft_examples', examples: ex });
  const jsonl = ['{"question": "2+3?", "answer": "2 plus 3 is 5.\\n\\n#### 5"}', '', '{"question": "big?", "answer": "so\\n#### 1,000"}', ''].join('\n');
  expect(parseTracesFile(jsonl, 't.jsonl')).toEqual({
    layout: 'question_answer',
    rows: [
      { question: '2+3?', answer: '2 plus 3 is 5.\n\n#### 5' },
      { question: 'big?', answer: 'so\n#### 1,000' },
    ],
  });
  expect(finalNumber('so\n#### 1,000')).toBe('1000');
  expect(() => parseTracesFile('{"question": "q", "answer": "no final number"}\n', 't.jsonl')).toThrow('t.jsonl line 1: the answer must end in "#### <number>" (reasoning, then the final number, as GSM8K), got "no final number"');
  expect(() => parseTracesFile('{"question": "q", "answer": "#### 1"}\n{"prompt": "q"}\n', 't.jsonl')).toThrow('t.jsonl line 2: expected {"question": string, "answer": string}, got {"prompt": "q"}');
  expect(() => parseTracesFile('not json\n', 't.jsonl')).toThrow(/t\.jsonl line 1: .*not valid JSON/);
  expect(() => parseTracesFile('[{"completion": 1}]', 'f.json')).toThrow('f.json: expected a JSON array of {messages, completion} (element 0 is {"completion":1})');
  expect(() => parseTracesFile('\n', 'e.jsonl')).toThrow('e.jsonl: no rows');
});
