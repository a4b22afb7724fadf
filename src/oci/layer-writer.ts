import {createHash} from 'node:crypto';
import {createWriteStream} from 'node:fs';
import {once} from 'node:events';
import {Transform, type TransformCallback} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {crc32, createDeflateRaw} from 'node:zlib';
import {GZIP_LEVEL, STREAM_CHUNK, gzipHeader, gzipTrailer} from './gzip.js';
import type {BlobStore} from './store.js';
import {ChunkPool, tarChunks, type FileInspector, type TarEntry} from './tar.js';
import type {Descriptor} from './types.js';
import {cancellation, throwIfCancelled} from '../util/cancel.js';
import {withPath} from '../util/errors.js';
import {Digester} from '../util/hash.js';

export interface WrittenLayer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar: what rootfs.diff_ids and the labels name. */
  diffID: string;
}

export interface LayerOptions {
  /** Shown each file's first bytes as they are read (the ELF check of the image writer). */
  inspect?: FileInspector;
}

/**
 * Writes entries as a gzip-compressed tar layer in one pass: files -> tar -> sha256 (diffID)
 * and CRC-32 -> deflate -> sha256 (digest) -> disk. Nothing holds a whole layer in memory.
 *
 * The tar side is a plain loop, not a stream pipeline: its chunks come from a small pool and go
 * back to it as soon as zlib has consumed them (the write callback), so however many files a
 * layer has, it spends a handful of chunk buffers rather than one per MiB of tar.
 */
export async function writeLayer(entries: Iterable<TarEntry>, store: BlobStore, mediaType: string, options: LayerOptions = {}): Promise<WrittenLayer> {
  const tarHash = createHash('sha256');
  const gzDigest = new Digester();
  const temp = await store.tempPath();
  const pool = new ChunkPool();
  let crc = 0;
  let size = 0;
  const deflate = createDeflateRaw({level: GZIP_LEVEL, chunkSize: STREAM_CHUNK});
  let headerSent = false;
  const frame = new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      if (!headerSent) {
        this.push(gzipHeader());
        headerSent = true;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      // Raw deflate always emits at least the final block, so the header has been sent.
      callback(null, gzipTrailer(crc, size));
    }
  });
  const written = pipeline([deflate, frame, gzDigest, createWriteStream(temp, {highWaterMark: STREAM_CHUNK})], {signal: cancellation});
  written.catch(() => undefined); // awaited below; a failure also ends the loop through `failed`
  let failure: unknown;
  const failed = written.then(
    () => undefined,
    (error: unknown) => {
      failure = error;
    }
  );
  try {
    for await (const chunk of tarChunks(entries, {pool, inspect: options.inspect})) {
      throwIfCancelled();
      tarHash.update(chunk);
      crc = crc32(chunk, crc);
      size += chunk.length;
      if (failure !== undefined) throw asError(failure);
      if (!deflate.write(chunk, () => pool.release(chunk))) await Promise.race([once(deflate, 'drain'), failed]);
      if (failure !== undefined) throw asError(failure);
    }
    deflate.end();
    await written;
  } catch (error) {
    deflate.destroy();
    await failed;
    await store.discard(temp);
    throw withPath(error, temp);
  }
  const digest = gzDigest.digest();
  await store.commit(temp, digest);
  return {descriptor: {mediaType, digest, size: gzDigest.size}, diffID: `sha256:${tarHash.digest('hex')}`};
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
