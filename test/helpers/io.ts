/** Small shared test helpers: reading back the JSONL a run wrote (with the project's own parser, src/storage/jsonl.ts), a free port. */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { parseJsonlLines } from '../../src/storage/jsonl';

/** Every row of a JSONL file; a line that is not JSON fails the test, naming the file and the line. */
export function readJsonlFile(file: string): any[] {
  return parseJsonlLines(readFileSync(file, 'utf8')).map((l) => {
    if (!l.ok) throw new Error(`${file}:${l.lineNo}: not JSON (${l.error.message}): ${l.text.slice(0, 120)}`);
    return l.value;
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}
