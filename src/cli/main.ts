#!/usr/bin/env node
/**
 * The gepa-rl command. Experiments take key=value overrides on the typed config (the seeds' style):
 *   gepa-rl rl env=gsm8k n_batches=20 learning_rate=5e-4
 *   gepa-rl gepa-rl env=arithmetic n_rounds=2 skip_first_gepa=true --detach
 * Operating commands: status, watch, pause, resume, stop, set-prompt, list, report, replay, grade.
 * Every action is also possible with the Temporal CLI (docs/OPERATING.md).
 *
 * This file dispatches: help (help.ts), experiments (experiment.ts), operating commands (operate.ts).
 */
import { COMMANDS, UsageError } from './args';
import { startExperiment } from './experiment';
import { helpFor } from './help';
import { OPERATIONS } from './operate';
import { closeClient } from './session';

export { UsageError } from './args';
/** the pre-server half of starting an experiment, for tests of the config path */
export { prepareExperiment } from './experiment';

export async function main(argv: string[]): Promise<void> {
  try {
    await command(argv);
  } finally {
    await closeClient();
  }
}

async function command(argv: string[]): Promise<void> {
  const help = helpFor(argv);
  if (help !== null) {
    console.log(help);
    return;
  }
  const [cmd, ...args] = argv;
  if (cmd in COMMANDS) return startExperiment(cmd, args);
  const operation = OPERATIONS[cmd];
  if (operation) return operation.run(args);
  throw new UsageError(`unknown command ${JSON.stringify(cmd)}. Commands: ${[...Object.keys(COMMANDS), ...Object.keys(OPERATIONS)].join(', ')}`);
}

/** Errors a user can cause print as their message; anything else (a bug) with its stack. */
export function isUserError(e: Error): boolean {
  return ['UsageError', 'ServerDownError', 'ConfigError', 'OverrideError'].includes(e.name);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`gepa-rl: ${isUserError(e) ? e.message : (e.stack ?? e.message)}`);
    process.exit(2);
  });
}
