import * as seeds from '../../src/core/seeds';

describe('core/seeds: each random stream of a run has its own seed', () => {
  it('keeps the streams of one run apart for small run seeds and indices', () => {
    for (let run = 0; run < 5; run++) {
      const owner = new Map<number, string>();
      const put = (name: string, v: number) => {
        const prev = owner.get(v);
        if (prev !== undefined && prev !== name) throw new Error(`run seed ${run}: ${name} and ${prev} share seed ${v}`);
        owner.set(v, name);
      };
      put('testEval', seeds.testEvalSeed(run));
      for (let i = 0; i < 50; i++) {
        put(`trainBatch ${i}`, seeds.trainBatchSeed(run, i));
        put(`hinted ${i}`, seeds.hintedAttemptSeed(seeds.trainBatchSeed(run, i)));
        put(`gepaEval ${i}`, seeds.gepaEvalSeed(run, i) + 0.5); // a different sampler: only distinctness within its own stream matters
      }
      expect(owner.size).toBe(1 + 150);
    }
  });

  it("gives each prompt of an API sampling call its own seed: the call's seed plus the prompt's index", () => {
    expect([0, 1, 2].map((i) => seeds.apiPromptSeed(40, i))).toEqual([40, 41, 42]);
  });

  it('gives every GEPA phase of an alternation a different seed', () => {
    const s = new Set(Array.from({ length: 20 }, (_, r) => seeds.gepaPhaseSeed(7, r)));
    expect(s.size).toBe(20);
  });

  it('pins the values (changing one changes what recorded runs sampled)', () => {
    expect([seeds.testEvalSeed(3), seeds.trainBatchSeed(3, 2), seeds.hintedAttemptSeed(10), seeds.gepaEvalSeed(2, 1), seeds.gepaReflectionSeed(2, 1)]).toEqual([
      1_002_999_946, 3_000_011, 500_019, 15_839, 209_459,
    ]);
    expect([seeds.chunkSeed(5, 2), seeds.waveSeed(5, 1), seeds.epochShuffleSeed(1, 1), seeds.datasetSplitSeed(0), seeds.arithmeticDataSeed(0)]).toEqual([
      15_843, 1_000_008, (0x9e3779b1 + 0x85ebca6b) >>> 0, 0x9e3779b9, 12_345,
    ]);
    // batch seed 100, problem 3, second try: 100 + 21 + 1; test episode 2, trial 1 of data seed 1: 100_003 + 50_000 + 202 + 1
    expect([seeds.teacherHintSeed(100, 3, 1), seeds.episodeSeed(1, 'test', 2, 1), seeds.episodeSeed(1, 'train', 2, 1)]).toEqual([122, 150_206, 100_206]);
  });
});
