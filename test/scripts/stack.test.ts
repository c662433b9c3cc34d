/**
 * scripts/stack.sh's own logic (start, health waits, no duplicates, stop by pid, and the messages for
 * a missing venv, a busy port, a process that dies at start, a server that never becomes healthy).
 * The script runs from a scratch copy of the project layout whose .venv holds small executables
 * standing in for the Temporal CLI and Python, so these cases can be provoked on purpose; the real
 * stack is started by `make up` / `make demo` and by the workflow tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers/stack';
import { freePort } from '../helpers/io';

jest.setTimeout(120_000);

interface Fake {
  /** what the fake Temporal CLI does for `server start-dev`: run, or die at once */
  temporal?: 'run' | 'die';
  /** whether `operator cluster health` ever succeeds */
  healthy?: boolean;
  venv?: boolean;
}

function scratch(fake: Fake = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gepa-rl-stack-'));
  mkdirSync(path.join(dir, 'scripts'));
  copyFileSync(path.join(ROOT, 'scripts/stack.sh'), path.join(dir, 'scripts/stack.sh'));
  mkdirSync(path.join(dir, 'dist'));
  writeFileSync(path.join(dir, 'dist/worker.js'), "console.log('worker ready'); setInterval(() => {}, 1000);\n");
  if (fake.venv === false) return dir;
  mkdirSync(path.join(dir, '.venv/bin'), { recursive: true });
  const temporal = `#!/usr/bin/env bash
case "$1" in
  server) ${fake.temporal === 'die' ? 'echo "fatal: cannot open database .data/temporal.db" >&2; exit 3' : 'echo "dev server up"; exec sleep 300'} ;;
  operator) ${fake.healthy === false || fake.temporal === 'die' ? 'exit 1' : 'exit 0'} ;;
esac
`;
  const python = `#!/usr/bin/env bash
echo "trainer worker ready"
exec sleep 300
`;
  for (const [name, body] of [['temporal', temporal], ['python', python]] as const) {
    writeFileSync(path.join(dir, '.venv/bin', name), body);
    chmodSync(path.join(dir, '.venv/bin', name), 0o755);
  }
  return dir;
}

async function stack(dir: string, args: string[], env: Record<string, string> = {}) {
  const ports = { GEPA_RL_TEMPORAL_PORT: String(await freePort()), GEPA_RL_UI_PORT: String(await freePort()), GEPA_RL_LM_PORT: String(await freePort()) };
  const r = spawnSync('bash', [path.join(dir, 'scripts/stack.sh'), ...args], { env: { ...process.env, ...ports, TEMPORAL_ADDRESS: '', ...env }, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const pid = (dir: string, name: string) => readFileSync(path.join(dir, `.data/pids/${name}.pid`), 'utf8').trim();
const running = (p: string) => spawnSync('kill', ['-0', p]).status === 0;

test('up starts each process once, waits for health, and down stops them by pid', async () => {
  const dir = scratch();
  try {
    const first = await stack(dir, ['up', '--no-lm']);
    expect(first.out).toContain('temporal healthy');
    expect(first.out).toContain('trainer healthy');
    expect(first.out).toContain('worker healthy');
    expect(first.code).toBe(0);
    const pids = ['temporal', 'trainer', 'worker'].map((n) => pid(dir, n));
    for (const p of pids) expect(running(p)).toBe(true);

    const second = await stack(dir, ['up', '--no-lm']);
    expect(second.code).toBe(0);
    expect(second.out).toContain('temporal already running');
    expect(second.out).toContain('trainer worker already running');
    expect(second.out).toContain('TS worker already running');
    expect(['temporal', 'trainer', 'worker'].map((n) => pid(dir, n))).toEqual(pids);

    const down = await stack(dir, ['down']);
    expect(down.out).toMatch(/stopped temporal/);
    for (const p of pids) expect(running(p)).toBe(false);
    expect(existsSync(path.join(dir, '.data/pids/temporal.pid'))).toBe(false);
  } finally {
    await stack(dir, ['down']);
  }
});

test('a missing venv names the problem and the fix', async () => {
  const dir = scratch({ venv: false });
  const r = await stack(dir, ['up']);
  expect(r.code).toBe(1);
  expect(r.out).toContain('the project venv .venv is missing');
  expect(r.out).toContain('make setup');
});

test('a port already in use is reported with the port and how to free it', async () => {
  const dir = scratch();
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const busy = String((server.address() as net.AddressInfo).port);
  try {
    const r = await stack(dir, ['up'], { GEPA_RL_TEMPORAL_PORT: busy });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`port ${busy} is already in use`);
    expect(r.out).toContain('GEPA_RL_TEMPORAL_PORT');
    expect(existsSync(path.join(dir, '.data/pids/temporal.pid'))).toBe(false);
  } finally {
    server.close();
  }
});

test('a process that dies at start is reported with the tail of its log', async () => {
  const dir = scratch({ temporal: 'die' });
  const r = await stack(dir, ['up', '--no-lm']);
  expect(r.code).toBe(1);
  expect(r.out).toContain('temporal died while starting');
  expect(r.out).toContain('fatal: cannot open database .data/temporal.db');
});

test('a server that never becomes healthy times out with the limit, the variable and its log', async () => {
  const dir = scratch({ healthy: false });
  try {
    const r = await stack(dir, ['up', '--no-lm'], { GEPA_RL_START_TIMEOUT: '2' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('temporal did not become healthy within 2s (GEPA_RL_START_TIMEOUT)');
    expect(r.out).toContain('raise GEPA_RL_START_TIMEOUT');
    expect(r.out).toContain('dev server up');
    // the server that timed out is left for `down`, which stops it by its pid
    const p = pid(dir, 'temporal');
    expect(running(p)).toBe(true);
    await stack(dir, ['down']);
    expect(running(p)).toBe(false);
  } finally {
    await stack(dir, ['down']);
  }
});

test('a killed process not yet reaped (a zombie) counts as dead: up restarts it', async () => {
  const dir = scratch();
  // `sleep 0.1` exits under a parent (exec'd into `sleep 300`) that never reaps it: a zombie
  const holder = path.join(dir, 'zombie.pid');
  const parent = spawnSync('bash', ['-c', `sleep 0.1 & echo $! > ${holder}; exec sleep 300 >/dev/null 2>&1 < /dev/null & echo $!`], { encoding: 'utf8' });
  const parentPid = parent.stdout.trim();
  try {
    let zombie = '';
    for (let i = 0; i < 100 && !zombie; i++) {
      const p = existsSync(holder) ? readFileSync(holder, 'utf8').trim() : '';
      if (p && spawnSync('ps', ['-o', 'stat=', '-p', p], { encoding: 'utf8' }).stdout.trim().startsWith('Z')) zombie = p;
      else spawnSync('sleep', ['0.1']);
    }
    expect(zombie).not.toBe('');
    expect(running(zombie)).toBe(true); // kill -0 still answers for it: the trap this guards against
    mkdirSync(path.join(dir, '.data/pids'), { recursive: true });
    writeFileSync(path.join(dir, '.data/pids/trainer.pid'), `${zombie}\n`);
    expect((await stack(dir, ['status'])).out).toContain('trainer: stopped');
    const up = await stack(dir, ['up', '--no-lm']);
    expect(up.code).toBe(0);
    expect(up.out).not.toContain('trainer worker already running');
    expect(up.out).toContain('trainer healthy');
    expect(pid(dir, 'trainer')).not.toBe(zombie);
  } finally {
    await stack(dir, ['down']);
    if (parentPid) spawnSync('kill', [parentPid]);
  }
});

test('a killed Temporal server whose port is not released yet: up waits for the port and restarts it', async () => {
  const dir = scratch();
  const port = String(await freePort());
  // the pid file of our server, killed: a pid that no longer runs
  const gone = spawnSync('bash', ['-c', 'true & echo $!; wait'], { encoding: 'utf8' }).stdout.trim();
  mkdirSync(path.join(dir, '.data/pids'), { recursive: true });
  writeFileSync(path.join(dir, '.data/pids/temporal.pid'), `${gone}\n`);
  // its listening socket, still open for a moment (as while the system tears a killed process down)
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', () => { console.log('held'); setTimeout(() => process.exit(0), 1500); })`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => holder.stdout!.once('data', r));
  try {
    const up = await stack(dir, ['up', '--no-lm'], { GEPA_RL_TEMPORAL_PORT: port });
    expect(up.out).not.toContain('already in use');
    expect(up.code).toBe(0);
    expect(up.out).toContain('temporal healthy');
    expect(pid(dir, 'temporal')).not.toBe(gone);
  } finally {
    holder.kill();
    await stack(dir, ['down']);
  }
});
