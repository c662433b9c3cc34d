/**
 * The seeds' command lines run as written (issue 23): each line a user brings from the systems we
 * replace parses, offline, into the workflow input of the equivalent run, through the gepa-rl
 * command that runs it with the same key=value words. Keys in a seed's spelling set the canonical
 * key with a one-line note; booleans may be written True/False as in Python.
 */
import { parseOverrides } from '../../src/cli/args';
import { prepareExperiment } from '../../src/cli/main';
import { parseWorkflowInput } from '../../src/config';

/** The seed's entry point -> the gepa-rl command (docs/CONFIG.md "The seeds' command lines"). */
const ENTRY: Record<string, string> = { 'python -m src.train': 'rl', 'python -m scripts.run_alternation': 'gepa-rl', 'python -m scripts.run_gepa': 'gepa', 'python train.py': 'gepa' };

/** The words a POSIX shell gives the program: split on spaces, double quotes removed. */
function shellWords(s: string): string[] {
  return (s.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).map((w) => w.replace(/"/g, ''));
}

function asGepaRl(line: string): { command: string; words: string[] } {
  const entry = Object.keys(ENTRY).find((e) => line.startsWith(e + ' '));
  if (!entry) throw new Error(`no entry point for ${line}`);
  return { command: ENTRY[entry], words: shellWords(line.slice(entry.length)) };
}

const SEEDS: Array<[string, Record<string, unknown>, string[]]> = [
  [
    'python -m src.train env=gsm8k n_batches=20 learning_rate=5e-4 wandb_project=gepa-rl',
    { task: { env: 'gsm8k' }, rl: { n_batches: 20, learning_rate: 5e-4 }, run: { wandb_project: 'gepa-rl' } },
    [],
  ],
  [
    'python -m scripts.run_alternation env=gsm8k n_rounds=2 rl_batches_per_round=10 skip_first_gepa=true reflection_provider=anthropic reflection_model=claude-opus-4-5-20251101 wandb_project=gepa-rl',
    {
      task: { env: 'gsm8k' },
      alternation: { n_rounds: 2, rl_batches_per_round: 10, skip_first_gepa: true },
      reflection: { provider: 'anthropic', model: 'claude-opus-4-5-20251101' },
      run: { wandb_project: 'gepa-rl' },
    },
    ['note: reflection_provider is reflection.provider here', 'note: reflection_model is reflection.model here'],
  ],
  ['python -m scripts.run_gepa env=arithmetic max_iterations=5', { task: { env: 'arithmetic' }, gepa: { max_iterations: 5 } }, []],
  [
    'python -m scripts.run_gepa env=gsm8k reflection_model=gpt-4o reflection_backend=openai',
    { task: { env: 'gsm8k' }, reflection: { model: 'gpt-4o', provider: 'openai' } },
    ['note: reflection_model is reflection.model here', 'note: reflection_backend is reflection.provider here'],
  ],
  ['python -m scripts.run_gepa env=arithmetic debug=True', { task: { env: 'arithmetic' }, gepa: { debug: true } }, []],
  ['python -m scripts.run_alternation env=arithmetic n_rounds=3 gepa_iterations=3', { task: { env: 'arithmetic' }, alternation: { n_rounds: 3, gepa_iterations: 3 } }, []],
  [
    'python train.py task_name=gsm8k model_name="Qwen/Qwen3-4B-Instruct-2507" reflection_model="deepseek-ai/DeepSeek-V3.1" max_metric_calls=50',
    { task: { env: 'gsm8k' }, policy: { base_model: 'Qwen/Qwen3-4B-Instruct-2507' }, reflection: { model: 'deepseek-ai/DeepSeek-V3.1' }, gepa: { max_metric_calls: 50 } },
    ['note: task_name is task.env here', 'note: model_name is policy.base_model here', 'note: reflection_model is reflection.model here'],
  ],
  [
    'python train.py task_name=aime model_name="Qwen/Qwen3-4B-Instruct-2507" reflection_model="deepseek-ai/DeepSeek-V3.1" max_metric_calls=150 eval_test=true',
    { task: { env: 'aime' }, policy: { base_model: 'Qwen/Qwen3-4B-Instruct-2507' }, reflection: { model: 'deepseek-ai/DeepSeek-V3.1' }, gepa: { max_metric_calls: 150, eval_test: true } },
    ['note: task_name is task.env here', 'note: model_name is policy.base_model here', 'note: reflection_model is reflection.model here'],
  ],
];

const TYPE: Record<string, string> = { rl: 'rlTraining', 'gepa-rl': 'gepaRlAlternation', gepa: 'gepaOptimization' };

test.each(SEEDS)('%s', (line, expected, expectedNotes) => {
  const { command, words } = asGepaRl(line);
  const notes: string[] = [];
  const raw = parseOverrides(command, words, {}, notes);
  expect(raw).toEqual(expected);
  expect(notes).toEqual(expectedNotes);
  // a workflow input the workflow accepts, with the seed's values in place and defaults around them
  const input = parseWorkflowInput<Record<string, Record<string, unknown>>>(TYPE[command] as never, raw);
  for (const [section, values] of Object.entries(expected)) expect(input[section]).toMatchObject(values as object);
  // and the CLI starts it: checked in full before any server is contacted
  const start = prepareExperiment(command, [...words, '--id', 'seed-line', '--detach']);
  expect(start.workflowType).toBe(TYPE[command]);
  expect(start.notes).toEqual(expectedNotes);
});

test('Python-style booleans: True/False as well as true/false; anything else is refused naming the key', () => {
  expect(parseOverrides('gepa', ['debug=True', 'use_merge=False'])).toEqual({ gepa: { debug: true, use_merge: false } });
  expect(parseOverrides('gepa-rl', ['skip_first_gepa=False'])).toEqual({ alternation: { skip_first_gepa: false } });
  expect(() => parseOverrides('gepa', ['debug=TRUE'])).toThrow('gepa.debug: expected true or false, got "TRUE"');
});

test('a seed alias for a key the command does not read is refused under its canonical name', () => {
  expect(() => parseOverrides('rl', ['reflection_model=gpt-4o'])).toThrow(/rl: rlTraining does not read reflection\.model \(a key of gepaOptimization, gepaRlAlternation/);
});
