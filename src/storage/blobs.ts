/**
 * Claim-check blob store (DESIGN §4.5): large data (prompts, rollouts, traces) lives in
 * content-addressed JSON files and travels through workflow history as {uri, sha256, bytes}.
 * The Python trainer (gepa_rl_trainer/blobs.py) writes and reads the same format.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as path from 'node:path';
import type { BlobRef } from '../types';

/** The interface an object-store implementation (S3, GCS) would provide. */
export interface BlobStore {
  put(value: unknown): Promise<BlobRef>;
  get<T>(ref: BlobRef): Promise<T>;
}

export class BlobError extends Error {
  override name = 'BlobError';
}

export class FileBlobStore implements BlobStore {
  constructor(readonly dir: string) {}

  async put(value: unknown): Promise<BlobRef> {
    const text = JSON.stringify(value);
    if (text === undefined) throw new BlobError('cannot store undefined in the blob store');
    const bytes = Buffer.from(text, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const dir = path.resolve(this.dir);
    const file = path.join(dir, `${sha256}.json`);
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    return { uri: pathToFileURL(file).href, sha256, bytes: bytes.length };
  }

  get<T>(ref: BlobRef): Promise<T> {
    return readBlob<T>(ref);
  }
}

/** Read and verify a blob from any file:// reference. */
export async function readBlob<T>(ref: BlobRef): Promise<T> {
  if (!ref || typeof ref.uri !== 'string' || !ref.uri.startsWith('file://')) {
    throw new BlobError(`unsupported blob reference (expected a file:// uri): ${JSON.stringify(ref)}`);
  }
  const file = fileURLToPath(ref.uri);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new BlobError(`blob ${ref.uri} cannot be read: ${(e as Error).message}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== ref.sha256) {
    throw new BlobError(`blob ${ref.uri} is corrupt: sha256 ${sha} does not match the reference ${ref.sha256}`);
  }
  return JSON.parse(bytes.toString('utf8')) as T;
}

export function blobDirOf(runDir: string): string {
  return path.join(runDir, 'blobs');
}
