import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import { STREAM_CHUNK } from './gzip.js';

/** A tar entry with every header field the bytes depend on spelled out. */
export interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: Date;
  /** For files: streamed from `source`, or taken from `content`. */
  size?: number;
  source?: string;
  content?: Buffer;
  linkname?: string;
}

/**
 * A tar stream of `entries` in the given order, read from disk as the consumer pulls. Owner
 * fields are always root with empty names, so nothing of the build machine leaks into digests.
 */
export function tarStream(entries: TarEntry[]): Readable {
  const tar = tarPack();
  tar.on('error', () => undefined); // reported through `out`, which the pipeline watches
  // tar-stream's Pack is a streamx stream; Readable.from bridges it with backpressure.
  const out = Readable.from(tar, { objectMode: false });
  feed(tar, entries).catch((error: unknown) => {
    tar.destroy(error as Error);
    out.destroy(error as Error);
  });
  return out;
}

async function feed(tar: Pack, entries: TarEntry[]): Promise<void> {
  for (const entry of entries) {
    const header: Partial<Header> & { name: string } = {
      name: entry.name,
      type: entry.type,
      mode: entry.mode,
      mtime: entry.mtime,
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
    };
    if (entry.type === 'symlink') {
      header.linkname = entry.linkname;
      await addEntry(tar, header);
    } else if (entry.type === 'directory') {
      await addEntry(tar, header);
    } else if (entry.content) {
      header.size = entry.content.length;
      await addEntry(tar, header, entry.content);
    } else {
      header.size = entry.size;
      await new Promise<void>((resolve, reject) => {
        const sink = tar.entry(header, (error) => (error ? reject(error) : resolve()));
        const file = createReadStream(entry.source as string, { highWaterMark: STREAM_CHUNK });
        // The consumer failing (a full disk) destroys the pack and its entry: not an uncaught error.
        sink.on('error', (error: Error) => {
          file.destroy();
          reject(error);
        });
        file.on('error', (error) => {
          sink.destroy(error);
          reject(error);
        });
        file.pipe(sink as unknown as NodeJS.WritableStream);
      });
    }
  }
  tar.finalize();
}

function addEntry(tar: Pack, header: Partial<Header> & { name: string }, content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    tar.entry(header, content ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve()));
  });
}
