/**
 * Every random stream of a run, derived from the run seed in one place (DESIGN §5). Each function
 * names what its stream is for; the constants are arbitrary distinct odd multipliers/offsets whose
 * only job is to keep the streams apart (two streams never share a seed for small run seeds and
 * indices). Changing one changes which samples a run draws, so the recorded histories and bench
 * numbers change with it. Pure.
 */

/**
 * Test-split evaluations of a training workflow (rl, sft, expert iteration): one stream, so the start
 * and end evaluations sample alike. It sits in the run's train-batch range (below), past any train
 * position a run reaches. (It was runSeed + 1_000_003, which for run seed 1 equalled batch 1's seed.)
 */
export function testEvalSeed(runSeed: number): number {
  return runSeed * 1_000_003 + 999_999_937;
}

/** Policy sampling of the problems at train-order position `position` (an RL batch or an expert-iteration round). */
export function trainBatchSeed(runSeed: number, position: number): number {
  return runSeed * 1_000_003 + position;
}

/** Expert iteration's hinted (teacher-guided) samples of a round, apart from its unhinted attempts. */
export function hintedAttemptSeed(batchSeed: number): number {
  return batchSeed + 500_009;
}

/** GEPA iteration `it`'s policy sampling (minibatch and val evaluations). */
export function gepaEvalSeed(runSeed: number, it: number): number {
  return runSeed * 7_919 + it;
}

/** GEPA iteration `it`'s reflection call (the reflector's sampling seed). */
export function gepaReflectionSeed(runSeed: number, it: number): number {
  return runSeed * 104_729 + it;
}

/** Chunk `chunk` of one policy pass (a pass is split into chunks sampled by separate calls). */
export function chunkSeed(passSeed: number, chunk: number): number {
  return passSeed + chunk * 7_919;
}

/**
 * Prompt `i` of one API sampling call (backend=api): providers take one seed per request, so each
 * prompt gets its own, and its `n` samples share it.
 */
export function apiPromptSeed(callSeed: number, i: number): number {
  return callSeed + i;
}

/** Wave `wave` of a staged evaluation (each wave samples a fresh slice of the split). */
export function waveSeed(passSeed: number, wave: number): number {
  return passSeed + wave * 1_000_003;
}

/** The train order's shuffle of epoch `epoch` (RL batches and expert rounds walk it). */
export function epochShuffleSeed(runSeed: number, epoch: number): number {
  return (runSeed * 0x9e3779b1 + epoch * 0x85ebca6b) >>> 0;
}

/**
 * The shuffle of SFT epoch `epoch` (sftTraining, expert iteration's M-step): a fresh order every
 * epoch, as tinker-cookbook's `set_epoch` (supervised/data.py) and the HF Trainer's sampler.
 */
export function sftEpochShuffleSeed(seed: number, epoch: number): number {
  return (Math.imul(seed, 0x2545f491) + Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
}

/** The run seed of round `round`'s GEPA phase in an alternation: a 31-bit hash of (seed, round), distinct per round. */
export function gepaPhaseSeed(seed: number, round: number): number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 1;
}

/** The generated arithmetic problems: depend only on the task's data_seed. */
export function arithmeticDataSeed(dataSeed: number): number {
  return dataSeed * 2654435761 + 12345;
}

/** The shuffle that splits a downloaded dataset into train/val/test: depends only on the task's data_seed. */
export function datasetSplitSeed(dataSeed: number): number {
  return (dataSeed * 2654435761 + 0x9e3779b9) >>> 0;
}

/** The teacher's `attempt`-th hint for problem `index` in the round sampled with `batchSeed` (a regenerated hint gets a fresh seed). */
export function teacherHintSeed(batchSeed: number, index: number, attempt: number): number {
  return batchSeed + 7 * index + attempt;
}

/**
 * The simulated user of episode (split, index, trial) of an episodic task (tau2): a function of the
 * task's data_seed and the episode only, never of the run or the prompt, so every candidate meets
 * the same users (paired comparisons).
 */
export function episodeSeed(dataSeed: number, split: string, index: number, trial: number): number {
  return (dataSeed * 100_003 + (split === 'test' ? 50_000 : 0) + index * 101 + trial) % 2_147_483_647;
}
