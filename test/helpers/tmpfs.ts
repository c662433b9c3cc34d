/**
 * A small real tmpfs for disk-fault tests (the tests run as root): mount, fill to the last byte,
 * remount read-only, unmount. A test that cannot mount fails saying so; it is never skipped.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** fill the filesystem to its last byte; returns the filler file (delete it to free the space) */
  fill(): string;
  readOnly(): void;
  unmount(): void;
}

/** Mount at `at` (an existing empty folder), or at a fresh temporary folder. */
export function mountTmpfs(size = '2m', at?: string): Tmpfs {
  const dir = at ?? path.join(mkdtempSync(path.join(tmpdir(), 'gepa-rl-tmpfs-')), 'disk');
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`cannot mount a ${size} tmpfs at ${dir} for the disk-fault test (needs root or CAP_SYS_ADMIN): ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? e}`);
  }
  return {
    dir,
    fill() {
      const filler = path.join(dir, 'filler');
      const fd = openSync(filler, 'w');
      try {
        for (const chunk of [1 << 16, 1 << 10, 1]) {
          const buf = Buffer.alloc(chunk);
          try {
            for (;;) writeSync(fd, buf);
          } catch {
            /* full at this chunk size: go on with smaller ones */
          }
        }
      } finally {
        closeSync(fd);
      }
      if (statfsSync(dir).bavail !== 0) throw new Error(`the tmpfs at ${dir} is not full after filling it`);
      return filler;
    },
    readOnly() {
      execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' });
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    },
  };
}
