/** The GEPA acceptance rules the alternation relies on, including the format-regression guard. */
import { keepsFormat } from '../../src/core/gepa/acceptance';
import { addEvaluatedCandidate, initState, judgeChild } from '../../src/core/gepa/engine';

function state() {
  const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: 2, train_size: 10, max_metric_calls: 100, minibatch_size: 2 });
  addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: [0, 0] });
  return st;
}

describe('format-regression guard', () => {
  const parent = { scores: [0, 1, 0], format_ok: [true, true, true] };
  // better score, but one answer lost its format
  const betterButSloppier = { scores: [1, 1, 0], format_ok: [true, false, true] };

  test('keepsFormat compares format-ok counts: fewer is a regression, equal or more is not', () => {
    expect(keepsFormat([true, true, true], [true, false, true])).toBe(false);
    expect(keepsFormat([true, false, true], [false, true, true])).toBe(true);
    expect(keepsFormat([false, false, true], [true, true, true])).toBe(true);
    expect(keepsFormat([], [])).toBe(true);
  });

  test('with the guard on, a strictly better child that lowers the format-ok rate is rejected', () => {
    const st = state();
    const used = st.budget.metric_calls;
    expect(judgeChild(st, parent, betterButSloppier, { format_guard: true })).toEqual({ accept: false, reason: 'format regression' });
    expect(st.budget.metric_calls).toBe(used + 3); // its minibatch calls are spent all the same
  });

  test('with the guard off the same child is accepted', () => {
    expect(judgeChild(state(), parent, betterButSloppier, { format_guard: false })).toEqual({ accept: true, reason: null });
  });

  test('the guard never rescues a child that is not strictly better', () => {
    expect(judgeChild(state(), parent, { scores: [1, 0, 0], format_ok: [true, true, true] }, { format_guard: true })).toEqual({ accept: false, reason: 'not better' });
  });

  test('a better child that keeps every format passes the guard', () => {
    expect(judgeChild(state(), parent, { scores: [1, 1, 1], format_ok: [true, true, true] }, { format_guard: true })).toEqual({ accept: true, reason: null });
  });
});
