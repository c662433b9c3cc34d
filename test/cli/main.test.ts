/**
 * The CLI's checks before any server call: --config and key=value overrides are validated in full
 * (bad values, unknown keys with a did-you-mean, unreadable or malformed files) before a workflow
 * is started, and user errors are one-line messages. The server address points nowhere, so a
 * check that ran after connecting would surface as ServerDownError instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { COMMANDS } from '../../src/cli/args';
import { prepareExperiment } from '../../src/cli/experiment';
import { isUserError, main } from '../../src/cli/main';
import { OPERATIONS } from '../../src/cli/operate';
import { webUiUrl } from '../../src/connection';

const dir = mkdtempSync(path.join(tmpdir(), 'cli-'));
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};
const saved = { ...process.env };

beforeEach(() => {
  process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
  delete process.env.GEPA_RL_UI_URL;
  delete process.env.GEPA_RL_UI_PORT;
});
afterAll(() => {
  process.env = saved;
});

/** main()'s rejection, which the bin prints as `gepa-rl: <message>` when isUserError. */
async function failure(argv: string[]): Promise<Error> {
  const e = await main(argv).then(
    () => null,
    (err: Error) => err,
  );
  if (!e) throw new Error(`expected ${argv.join(' ')} to fail`);
  return e;
}

test('out-of-range override values fail before the server is contacted, naming field and value', async () => {
  const e = await failure(['rl', 'group_size=0', 'top_p=3']);
  expect(e.name).toBe('ConfigError');
  expect(isUserError(e)).toBe(true);
  expect(e.message).toMatch(/rl\.group_size: .*got 0/);
  expect(e.message).toMatch(/policy\.top_p: .*got 3/);
});

test('--config values are validated against the schema too, with --detach as well', async () => {
  const f = file('bad-values.json', JSON.stringify({ rl: { n_batches: -2, loss: 'dpo' } }));
  const e = await failure(['rl', '--config', f, '--detach']);
  expect(e.name).toBe('ConfigError');
  expect(e.message).toMatch(/rl\.n_batches: .*got -2/);
  expect(e.message).toMatch(/rl\.loss: .*got "dpo"/);
});

test('unknown keys in --config get a did-you-mean, all of them at once', () => {
  const f = file('typos.json', JSON.stringify({ rl: { n_batchs: 3, group_size: 2 }, n_batches: 4, polcy: { max_tokens: 8 } }));
  let err: Error | null = null;
  try {
    prepareExperiment('rl', ['--config', f]);
  } catch (e) {
    err = e as Error;
  }
  expect(err?.name).toBe('OverrideError');
  expect(err!.message).toContain(`--config ${f}`);
  expect(err!.message).toContain('unknown key rl.n_batchs. Did you mean rl.n_batches?');
  expect(err!.message).toContain('unknown key n_batches. Did you mean rl.n_batches?');
  expect(err!.message).toContain('unknown key polcy. Did you mean policy?');
});

test('a missing --config file, malformed JSON or a non-object is one line naming the file', async () => {
  const missing = path.join(dir, 'nope.json');
  const e1 = await failure(['gepa', '--config', missing]);
  expect(isUserError(e1)).toBe(true);
  expect(e1.message).toBe(`--config ${missing}: no such file`);
  const torn = file('torn.json', '{"rl": {"n_batches": 3,');
  const e2 = await failure(['rl', '--config', torn]);
  expect(isUserError(e2)).toBe(true);
  expect(e2.message).toMatch(new RegExp(`^--config ${torn}: not valid JSON \\(.+\\)$`));
  expect(e2.message).not.toContain('\n');
  const arr = file('arr.json', '[1, 2]');
  expect((await failure(['rl', '--config', arr])).message).toBe(`--config ${arr}: expected a JSON object of config sections, got an array`);
});

test('an option the CLI does not have is refused before the server, listing the options it has', async () => {
  const e = await failure(['rl', '--out', 'somewhere']);
  expect(isUserError(e)).toBe(true);
  expect(e.message).toBe("unknown option --out: the options are --config <file>, --id <workflow-id>, --detach, --json, --help; settings are key=value ('gepa-rl help rl' lists them)");
});

test('a valid config resolves to the workflow input, run directory and id; overrides beat the file', () => {
  const f = file('good.json', JSON.stringify({ rl: { n_batches: 9, group_size: 2 }, run: { output_dir: '/tmp/r' } }));
  const s = prepareExperiment('rl', ['--config', f, 'n_batches=3', '--id', 'my-run', '--detach']);
  expect(s.workflowType).toBe('rlTraining');
  expect(s.workflowId).toBe('my-run');
  expect(s.detach).toBe(true);
  expect(s.input).toEqual({ rl: { n_batches: 3, group_size: 2 }, run: { output_dir: '/tmp/r', run_id: 'my-run' } });
  expect(s.runDir).toBe(path.join('/tmp/r', 'my-run'));
  // an id that cannot name a run directory is a config error, before starting
  expect(() => prepareExperiment('rl', ['--id', 'a/b'])).toThrow(/run\.run_id: letters, digits, \. _ - only, got "a\/b"/);
});

test('with a valid config the CLI goes on to connect, and a down server says how to start it', async () => {
  const e = await failure(['rl', 'n_batches=2', '--detach']);
  expect(e.name).toBe('ServerDownError');
  expect(e.message).toContain('127.0.0.1:1');
  expect(e.message).toContain('make up');
});

test('report of an unknown run id or a non-run directory is a one-line message', async () => {
  const e1 = await failure(['report', 'no-such-run-xyz']);
  expect(isUserError(e1)).toBe(true);
  expect(e1.message).toMatch(/^no run directory runs\/no-such-run-xyz \(/);
  const notRun = path.join(dir, 'plain');
  mkdirSync(notRun);
  const e2 = await failure(['report', notRun]);
  expect(isUserError(e2)).toBe(true);
  expect(e2.message).toBe(`${notRun} is not a run directory: it has neither run.json nor config.json`);
});

test('replay of a missing history file reports it without a stack', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    process.exitCode = 0;
    await main(['replay', path.join(dir, 'missing.json')]);
    expect(log.mock.calls.flat().join('\n')).toContain('missing.json: no such file');
    expect(process.exitCode).toBe(1);
  } finally {
    process.exitCode = 0;
    log.mockRestore();
  }
});

test('the Web UI address honours GEPA_RL_UI_URL, then GEPA_RL_UI_PORT', () => {
  expect(webUiUrl('w1', 'default')).toBe('http://localhost:8233/namespaces/default/workflows/w1');
  process.env.GEPA_RL_UI_PORT = '18233';
  expect(webUiUrl('w1', 'default')).toBe('http://localhost:18233/namespaces/default/workflows/w1');
  process.env.GEPA_RL_UI_URL = 'https://ui.example/';
  expect(webUiUrl('w 1', 'ns')).toBe('https://ui.example/namespaces/ns/workflows/w%201');
});

/** What main() prints on stdout for this command line (the server address points nowhere). */
async function printed(argv: string[]): Promise<string> {
  const logs: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
  try {
    await main(argv);
  } finally {
    spy.mockRestore();
  }
  return logs.join('\n');
}

const EVERY_COMMAND = [...Object.keys(COMMANDS), ...Object.keys(OPERATIONS)];

test.each(EVERY_COMMAND)('`gepa-rl %s --help`, and the same with -h and as `gepa-rl help <command>`, print its help without a server', async (cmd) => {
  const usage = new RegExp(`^gepa-rl ${cmd}\\b`);
  const viaFlag = await printed([cmd, '--help']);
  expect(viaFlag).toMatch(usage);
  expect(await printed([cmd, '-h'])).toBe(viaFlag);
  expect(await printed(['help', cmd])).toBe(viaFlag);
  // an experiment's help lists its keys with their defaults
  if (cmd in COMMANDS) expect(viaFlag).toContain(`(workflow ${COMMANDS[cmd as keyof typeof COMMANDS]})`);
});

test('`gepa-rl`, `gepa-rl help` and `gepa-rl --help` list every command; help of an unknown command does too', async () => {
  const general = await printed([]);
  for (const cmd of Object.keys(COMMANDS)) expect(general).toContain(`gepa-rl ${cmd} `);
  for (const cmd of ['status', 'watch', 'pause|resume|stop', 'set-prompt', 'list', 'report', 'replay', 'grade']) expect(general).toContain(`gepa-rl ${cmd} `);
  expect(await printed(['help'])).toBe(general);
  expect(await printed(['--help'])).toBe(general);
  expect(await printed(['help', 'no-such-command'])).toBe(general);
});

test('the installed command answers --help with no server up and exits 0', () => {
  const out = execFileSync(process.execPath, ['-r', './test/cli/tsRegister.js', 'src/cli/main.ts', 'watch', '--help'], {
    cwd: path.join(__dirname, '../..'),
    env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    encoding: 'utf8',
  });
  expect(out).toBe(`gepa-rl ${OPERATIONS.watch.usage}\n`);
});
