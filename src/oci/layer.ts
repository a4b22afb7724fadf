import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { STREAM_CHUNK, reproducibleGzip } from './gzip.js';
import type { BlobStore } from './store.js';
import { tarStream, type TarEntry } from './tar.js';
import type { Descriptor } from './types.js';
import { cancellation } from '../util/cancel.js';
import { withPath } from '../util/errors.js';
import { Digester } from '../util/hash.js';

export interface WrittenLayer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar: what rootfs.diff_ids and the labels name. */
  diffID: string;
}

/**
 * Writes entries as a gzip-compressed tar layer in one pass: files -> tar -> sha256 (diffID)
 * -> gzip -> sha256 (digest) -> disk. Nothing holds a whole layer in memory.
 */
export async function writeLayer(entries: TarEntry[], store: BlobStore, mediaType: string): Promise<WrittenLayer> {
  const tarDigest = new Digester();
  const gzDigest = new Digester();
  const temp = await store.tempPath();
  try {
    await pipeline([tarStream(entries), tarDigest, ...reproducibleGzip(), gzDigest, createWriteStream(temp, { highWaterMark: STREAM_CHUNK })], { signal: cancellation });
  } catch (error) {
    await store.discard(temp);
    throw withPath(error, temp);
  }
  const digest = gzDigest.digest();
  await store.commit(temp, digest);
  return { descriptor: { mediaType, digest, size: gzDigest.size }, diffID: tarDigest.digest() };
}
