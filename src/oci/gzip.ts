import {crc32, createDeflateRaw} from 'node:zlib';
import {Transform, type TransformCallback} from 'node:stream';

/** The compression level of every layer; part of the digest, so changing it changes digests. */
export const GZIP_LEVEL = 6;

/**
 * Bytes per chunk through the layer pipeline. Each chunk is a round trip between zlib's thread
 * and JavaScript; Node's defaults (16-64 KiB) make those round trips, not deflate, the cost.
 */
export const STREAM_CHUNK = 1024 * 1024;

/**
 * The stages of a gzip stream whose bytes depend only on its input, for stream.pipeline. Node's
 * gzip writes the OS byte of the zlib build it runs on (3 on Linux, 10/19 elsewhere), so the
 * header and trailer are written here around raw deflate, with mtime 0 and OS 255 ("unknown",
 * as Go writes). Plain stages keep the pipeline's backpressure intact.
 */
/** The gzip header: no name, mtime 0, the XFL deflate sets for the level, OS 255 (as Go writes). */
export function gzipHeader(level = GZIP_LEVEL): Buffer {
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
}

/** The gzip trailer: CRC-32 and length (mod 2^32) of the uncompressed bytes. */
export function gzipTrailer(crc: number, size: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size % 0x1_0000_0000, 4);
  return trailer;
}

export function reproducibleGzip(level = GZIP_LEVEL): Transform[] {
  let crc = 0;
  let size = 0;
  const checksum = new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      crc = crc32(chunk, crc);
      size = (size + chunk.length) % 0x1_0000_0000;
      callback(null, chunk);
    }
  });
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  let headerSent = false;
  const frame = new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      if (!headerSent) {
        this.push(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]));
        headerSent = true;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      // Raw deflate always emits at least the final block, so the header has been sent.
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc >>> 0, 0);
      trailer.writeUInt32LE(size, 4);
      callback(null, trailer);
    }
  });
  return [checksum, createDeflateRaw({level, chunkSize: STREAM_CHUNK}), frame];
}
