import type { TaskConfig } from '../config/task';
import type { ChatMessage, MathVerdict, ScoreResult } from '../types';

/** One problem. JSON-serialisable; `answer` is the ground truth (null when the source has none). */
export interface Example {
  id: string;
  question: string;
  answer: string | null;
  [k: string]: unknown;
}

export interface Splits {
  train: Example[];
  val: Example[];
  test: Example[];
}

/**
 * A task (DESIGN §4.2): a dataset plus a deterministic checker. `score` never throws: a bad
 * completion is a zero reward with feedback for the reflection LM.
 */
export interface Task {
  name: string;
  loadSplits(cfg: TaskConfig): Promise<Splits>;
  /** user messages; the caller adds the system prompt */
  render(x: Example): ChatMessage[];
  /**
   * Tasks graded by Math-Verify (gradedByMathVerify in src/config/task.ts) get its verdict on this
   * completion and throw MissingVerdict without one; every other task ignores it. `stop`: why the
   * sampler ended the completion (`length`: at max_tokens), for tasks whose format counts a clean
   * stop (style=cookbook); absent when unknown (a whole reply given to `gepa-rl grade`).
   */
  score(x: Example, completion: string, verdict?: MathVerdict, stop?: 'stop' | 'length'): ScoreResult;
  /**
   * Tasks graded by Math-Verify: the gold text it parses (default: `answer` as given). A dataset whose
   * answers are bare LaTeX says so here (MATH: `\\boxed{answer}`, so "-2,1" is a list, not -2.1).
   */
  verifierGold?(x: Example): string | null;
  /** ground truth for the teacher only */
  answerForHint(x: Example): string | null;
  /**
   * The system prompt a run on this task starts from when its config leaves the prompt at the
   * generic default (tau2-airline: policy.md, tau2's agent policy); absent: the generic default.
   */
  seedPrompt?(): string;
}
