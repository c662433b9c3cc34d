/**
 * Every help text of the command, answered before anything else so that it never needs a server:
 * `gepa-rl`, `gepa-rl help [command]`, `gepa-rl <command> --help|-h`.
 */
import { pauseSignal, resumeSignal, setPromptUpdate, statusQuery, stopSignal } from '../workflows/messages';
import { COMMANDS, helpText, splitFlags } from './args';
import { OPERATIONS } from './operate';

const OPERATING_HELP = `gepa-rl — durable GEPA + RL experiments on Temporal

Experiments (key=value overrides; 'gepa-rl help <command>' lists every key with its default):
${Object.entries(COMMANDS)
  .map(([c, w]) => `  gepa-rl ${c.padEnd(17)} starts workflow ${w}`)
  .join('\n')}
  options: --config file.json  --detach  --id <workflow-id>

Operating a run (the workflow id is printed at start):
  gepa-rl status <id>            current status (query '${statusQuery.name}')
  gepa-rl watch <id>             live progress until it ends (Ctrl-C detaches)
  gepa-rl pause|resume|stop <id> signals '${pauseSignal.name}' / '${resumeSignal.name}' / '${stopSignal.name}' (stop finishes the current step)
  gepa-rl set-prompt <id> <text | @file>   update '${setPromptUpdate.name}'
  gepa-rl list [--runs DIR]      recent runs: Temporal's state and what each run.json says (DIR: runs)
  gepa-rl report <id | run-dir>  write runs/<id>/report.html
  gepa-rl replay <id | history.json>  replay a history against the current code
  gepa-rl grade < lines.jsonl    score {"task"|"grader", "gold", "completion"} lines, or tau2-airline
                                 trajectories {"task": "tau2-airline", "task_id", "messages", "termination"?}
`;

/** One command's help: an experiment's keys with their defaults, or an operating command's usage. */
function commandHelp(cmd: string): string | null {
  if (cmd in COMMANDS) return helpText(cmd);
  if (cmd in OPERATIONS) return `gepa-rl ${OPERATIONS[cmd].usage}`;
  return null;
}

/** The help this command line asks for, or null when it asks for none. */
export function helpFor(argv: string[]): string | null {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') return (args[0] && commandHelp(args[0])) || OPERATING_HELP;
  if (cmd in COMMANDS) return splitFlags(args).flags.help ? helpText(cmd) : null;
  if (cmd in OPERATIONS && (args.includes('--help') || args.includes('-h'))) return commandHelp(cmd);
  return null;
}
