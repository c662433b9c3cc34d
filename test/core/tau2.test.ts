import { addUsage, emptyUsage, episodeTrace, passHatK, summariseTau2, sumUsage, type EpisodeView, type Tau2EpisodeSummary } from '../../src/core/tau2';
import { reflectorRecords, traceInput } from '../../src/core/traces';

const ref = { uri: 'x', sha256: 'x', bytes: 1 };
const episode = (task_id: string, success: boolean, o: Partial<Tau2EpisodeSummary> = {}): Tau2EpisodeSummary => ({
  task_id, trial: 0, seed: 0, success, termination: success ? 'user_stop' : 'max_steps', db_changing: false, usage: emptyUsage(), steps: 4, tool_errors: 0, attempt: 1, resumed_from_step: 0, trace_ref: ref, ...o,
});

describe('core/tau2: pass^k', () => {
  it('is the mean over tasks of C(c,k)/C(n,k)', () => {
    // task a: 2 of 3 trials succeed; task b: 3 of 3; task c: 0 of 3
    const s = [[true, true, false], [true, true, true], [false, false, false]];
    expect(passHatK(s, 1)).toBeCloseTo((2 / 3 + 1 + 0) / 3, 12);
    expect(passHatK(s, 2)).toBeCloseTo((1 / 3 + 1 + 0) / 3, 12); // C(2,2)/C(3,2) = 1/3
    expect(passHatK(s, 3)).toBeCloseTo((0 + 1 + 0) / 3, 12);
  });

  it('leaves out tasks with fewer than k trials, and is 0 when none has k', () => {
    expect(passHatK([[true], [true, false]], 2)).toBe(0); // only b counts: C(1,2) = 0
    expect(passHatK([[true], [true, true]], 2)).toBe(1);
    expect(passHatK([[true]], 2)).toBe(0);
    expect(passHatK([], 1)).toBe(0);
  });
});

describe('core/tau2: usage', () => {
  it('sums calls by role and counts an unpriced call apart from the cost', () => {
    const u = sumUsage([
      { role: 'agent', prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.5 },
      { role: 'agent', prompt_tokens: 5, completion_tokens: 1, cost_usd: null },
      { role: 'user', prompt_tokens: 7, completion_tokens: 3, cost_usd: 0.25 },
    ]);
    expect(u).toEqual({ agent: { calls: 2, tokens_in: 15, tokens_out: 3, cost_usd: 0.5 }, user: { calls: 1, tokens_in: 7, tokens_out: 3, cost_usd: 0.25 }, unpriced_calls: 1 });
    expect(addUsage([u, u]).agent).toEqual({ calls: 4, tokens_in: 30, tokens_out: 6, cost_usd: 1 });
    expect(addUsage([u, u]).unpriced_calls).toBe(2);
  });
});

describe('core/tau2: the evaluation summary', () => {
  const u = sumUsage([{ role: 'agent', prompt_tokens: 1, completion_tokens: 1, cost_usd: 0.3 }, { role: 'user', prompt_tokens: 1, completion_tokens: 1, cost_usd: 0.1 }]);
  const episodes = [
    episode('a', true, { trial: 0, db_changing: true, usage: u, steps: 2 }),
    episode('a', false, { trial: 1, db_changing: true, usage: u, steps: 6, attempt: 2, resumed_from_step: 3 }),
    episode('b', true, { trial: 0, usage: u, steps: 4 }),
    episode('b', true, { trial: 1, usage: u, steps: 4 }),
    episode('c', false, { trial: 0, usage: u, steps: 8 }),
  ];
  const s = summariseTau2(episodes, (id) => id === 'b');

  it('takes k up to the fewest trials of any task, and pass^1 apart by whether the gold changes the DB', () => {
    expect(s.n_tasks).toBe(3);
    expect(s.trials).toBe(1);
    expect(s.pass_hat).toEqual({ 'pass^1': (1 / 2 + 1 + 0) / 3 });
    expect(s.pass1_db_changing).toBe(1 / 2); // task a only
    expect(s.pass1_no_change).toBe((1 + 0) / 2); // b and c
  });

  it('gives the refusal floor as the share of tasks the do-nothing agent passes', () => {
    expect(s.refusal_floor).toBe(1 / 3);
    expect(s.per_task.map((p) => [p.task_id, p.noop_success, p.successes, p.trials])).toEqual([['a', false, 1, 2], ['b', true, 2, 2], ['c', false, 0, 1]]);
    expect(s.per_task[0]).toMatchObject({ terminations: ['user_stop', 'max_steps'], attempts: [1, 2], resumed_from_steps: [0, 3] });
  });

  it('sums usage over episodes and divides cost and steps by the episodes', () => {
    expect(s.usage.agent.calls).toBe(5);
    expect(s.cost_per_episode_usd).toBeCloseTo(0.4, 12); // (5 x 0.3 + 5 x 0.1) / 5
    expect(s.mean_steps).toBe((2 + 6 + 4 + 4 + 8) / 5);
  });
});

describe('core/tau2: what the reflector sees of an episode', () => {
  const view = (o: Partial<EpisodeView> = {}): EpisodeView => ({
    split: 'train',
    index: 7,
    trial: 2,
    task_id: 't7',
    user_instruction: 'cancel my flight',
    user_id: 'mia_li_3668',
    expected_actions: ['get_reservation_details', 'cancel_reservation'],
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'x'.repeat(400) },
      { role: 'tool', content: '{"db": "secret"}' },
      { role: 'assistant', content: null },
      { role: 'user', content: 'u2' },
      { role: 'assistant', content: 'a2' },
      { role: 'user', content: 'bye' },
    ],
    grade: { reward: 0, success: false, termination: 'user_stop', feedback: 'the DB differs: reservations.ABC.status', actions_taken: [{ name: 'get_reservation_details' }] },
    ...o,
  });

  it('shows a failed train episode with its expected actions, the last four text turns cut at 300 characters, and the grader feedback', () => {
    const t = episodeTrace(view());
    expect(JSON.parse(t.input)).toEqual({ user_instruction: 'cancel my flight', user_id: 'mia_li_3668', expected_actions: ['get_reservation_details', 'cancel_reservation'] });
    const out = JSON.parse(t.output);
    expect(out).toMatchObject({ actions_taken: ['get_reservation_details'], final_reward: 0, message_count: 7, termination: 'user_stop' });
    expect(out.last_turns).toEqual([`agent: ${'x'.repeat(300)}`, 'user: u2', 'agent: a2', 'user: bye']);
    expect(t.feedback).toBe('the DB differs: reservations.ABC.status');
    expect([t.index, t.id, t.sample_index, t.reflect]).toEqual([7, 't7', 2, true]);
  });

  it('keeps a successful episode from the reflector', () => {
    expect(episodeTrace(view({ grade: { ...view().grade, reward: 1, success: true } })).reflect).toBe(false);
  });

  it('shows a test episode without its gold: no expected actions, only the outcome as feedback, never reflected on', () => {
    const t = episodeTrace(view({ split: 'test' }));
    expect(JSON.parse(t.input)).toEqual({ user_instruction: 'cancel my flight', user_id: 'mia_li_3668' });
    expect(t.feedback).toBe('Task failed (user_stop).');
    expect(t.reflect).toBe(false);
    expect(episodeTrace(view({ split: 'test', grade: { ...view().grade, success: true, reward: 1 } })).feedback).toBe('Task completed successfully.');
  });
});

describe('core/traces: a trace as the reflector reads it', () => {
  it('takes the user turns as the input, never the system prompt', () => {
    expect(traceInput([{ role: 'system', content: 'S' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'q2' }])).toBe('q1\nq2');
  });

  it('leaves out traces marked reflect: false and keeps input, output, reward, feedback', () => {
    const t = (input: string, reflect?: boolean) => ({ input, output: `o-${input}`, reward: 0.5, feedback: `f-${input}`, reflect, correct: true });
    expect(reflectorRecords([t('a'), t('b', false), t('c', true)])).toEqual([
      { input: 'a', output: 'o-a', reward: 0.5, feedback: 'f-a' },
      { input: 'c', output: 'o-c', reward: 0.5, feedback: 'f-c' },
    ]);
  });
});

test('an evaluation with no episodes has no pass^k and ends (Math.min of nothing was Infinity: a loop without end)', () => {
  const s = summariseTau2([], () => false);
  expect(s.n_tasks).toBe(0);
  expect(s.pass_hat).toEqual({});
});
