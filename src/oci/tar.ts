import {closeSync, openSync, readSync} from 'node:fs';
import {open} from 'node:fs/promises';
import {Readable} from 'node:stream';
import {STREAM_CHUNK} from './gzip.js';

/**
 * A tar entry with every header field the bytes depend on spelled out. Owner fields are always
 * root with empty names, so nothing of the build machine leaks into digests.
 */
export interface TarEntry {
  /** The name as written, such as `/cnb/buildpacks/acme_bp/1.0.0/bin/run`. */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  mtime: Date;
  /** For files: streamed from `source`, or taken from `content`. */
  size?: number;
  source?: string;
  content?: Buffer;
  /** A symlink's target, or the name a hard link points to. */
  linkname?: string;
  /**
   * How the header is encoded, as Go's archive/tar does it (what pack uses): `auto` is USTAR
   * when USTAR can hold the entry, else PAX (Go's choice when no format is set); `pax` is PAX
   * whatever the entry (Go's choice for an entry it had read back as PAX).
   */
  format?: 'auto' | 'pax';
}

const BLOCK = 512;
const NAME_SIZE = 100;
const PREFIX_SIZE = 155;
const MAX_OCTAL_SIZE = 8 ** 11; // 11 octal digits

/** Bytes 0x01-0x7f only (Go's isASCII over runes: NUL and anything else is not). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

/** Go's toASCII: drops every rune that is not ASCII (or is NUL). */
function toAscii(s: string): string {
  return isAscii(s) ? s : [...s].filter(c => c.charCodeAt(0) > 0 && c.charCodeAt(0) < 0x80).join('');
}

/** Go's splitUSTARPath: a long ASCII name as prefix and name, split at a `/`, when it fits. */
export function splitUstar(name: string): [string, string] | undefined {
  const length = name.length;
  if (length <= NAME_SIZE || !isAscii(name)) return undefined;
  let n = length;
  if (n > PREFIX_SIZE + 1) n = PREFIX_SIZE + 1;
  else if (name[n - 1] === '/') n--;
  const i = name.lastIndexOf('/', n - 1);
  const nlen = length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

/** Whether USTAR can hold this name (directly or split) and link name. */
export function ustarCanHold(name: string, linkname = '', size = 0): boolean {
  const nameOk = isAscii(name) && (name.length <= NAME_SIZE || splitUstar(name) !== undefined);
  const linkOk = isAscii(linkname) && linkname.length <= NAME_SIZE;
  return nameOk && linkOk && size < MAX_OCTAL_SIZE;
}

/**
 * Go's formatString, written in place: the bytes, NUL-terminated when shorter; a cut that ends
 * in `/` ends in NUL instead. Callers pass ASCII only (one byte per character).
 */
function putString(block: Buffer, offset: number, size: number, s: string): void {
  const written = block.write(s, offset, Math.min(s.length, size), 'latin1');
  if (written < size) block[offset + written] = 0;
  if (s.length > size && block[offset + size - 1] === 0x2f) {
    const kept = s.slice(0, size).replace(/\/+$/, '').length;
    block[offset + kept] = 0;
  }
}

const ZEROS = '0'.repeat(12);

/** Go's formatOctal: zero-padded octal and a NUL; a value that does not fit is written as zeros. */
function putOctal(block: Buffer, offset: number, size: number, value: number): void {
  const fits = value >= 0 && value < 8 ** (size - 1);
  const digits = fits ? value.toString(8) : '';
  const width = size - 1;
  block.write(ZEROS, offset, width - digits.length, 'latin1');
  block.write(digits, offset + width - digits.length, digits.length, 'latin1');
  block[offset + width] = 0;
}

const TYPEFLAG = {file: '0', link: '1', symlink: '2', directory: '5', pax: 'x'} as const;

interface HeaderFields {
  name: string;
  linkname: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  prefix?: string;
  devFields: boolean;
}

/**
 * A V7/USTAR header block as Go's templateV7Plus and SetFormat(USTAR|PAX) make it, written into
 * `target` at `offset` (512 bytes, which need not be zero): no allocation per entry.
 */
function writeHeaderBlock(target: Buffer, offset: number, fields: HeaderFields): void {
  const b = target;
  const o = offset;
  b.fill(0, o, o + BLOCK);
  b.write(fields.typeflag, o + 156, 'latin1');
  putString(b, o, 100, fields.name);
  putString(b, o + 157, 100, fields.linkname);
  putOctal(b, o + 100, 8, fields.mode);
  putOctal(b, o + 108, 8, 0); // uid
  putOctal(b, o + 116, 8, 0); // gid
  putOctal(b, o + 124, 12, fields.size);
  putOctal(b, o + 136, 12, fields.mtime);
  if (fields.devFields) {
    putOctal(b, o + 329, 8, 0); // devmajor
    putOctal(b, o + 337, 8, 0); // devminor
  }
  if (fields.prefix) putString(b, o + 345, PREFIX_SIZE, fields.prefix);
  b.write('ustar\0', o + 257, 'latin1');
  b.write('00', o + 263, 'latin1');
  // The checksum counts its own field as spaces: 6 octal digits, NUL, space.
  b.fill(0x20, o + 148, o + 156);
  let sum = 0;
  for (let i = o; i < o + BLOCK; i++) sum += b[i];
  putOctal(b, o + 148, 7, sum);
  b[o + 155] = 0x20;
}

function headerBlock(fields: HeaderFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeHeaderBlock(b, 0, fields);
  return b;
}

/** Go's formatPAXRecord: `<length> <key>=<value>\n`, the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = Buffer.byteLength(` ${key}=${value}\n`);
  let size = body + String(body).length;
  if (String(size).length + body !== size) size = String(size).length + body;
  return `${size} ${key}=${value}\n`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

function entrySize(entry: TarEntry): number {
  return entry.type === 'file' ? (entry.size ?? entry.content?.length ?? 0) : 0;
}

// Filled by ustarFields for the header written right after: one object, not one per entry.
const scratch: HeaderFields = {name: '', linkname: '', mode: 0, size: 0, mtime: 0, typeflag: '0', prefix: undefined, devFields: true};

/**
 * The USTAR fields of an entry USTAR can hold, or undefined when it needs PAX. The object is
 * reused by the next call: write the header before asking for another.
 */
function ustarFields(entry: TarEntry): HeaderFields | undefined {
  const size = entrySize(entry);
  const linkname = entry.linkname ?? '';
  if (entry.format === 'pax' || !ustarCanHold(entry.name, linkname, size)) return undefined;
  const split = entry.name.length > NAME_SIZE ? splitUstar(entry.name) : undefined;
  scratch.name = split ? split[1] : entry.name;
  scratch.prefix = split?.[0];
  scratch.linkname = linkname;
  scratch.mode = entry.mode;
  scratch.size = size;
  scratch.mtime = Math.floor(entry.mtime.getTime() / 1000);
  scratch.typeflag = TYPEFLAG[entry.type];
  scratch.devFields = true;
  return scratch;
}

/** The header block(s) of one entry: a USTAR block, or a PAX `x` block with its records and then the main block. */
export function encodeHeader(entry: TarEntry): Buffer {
  const ustar = ustarFields(entry);
  if (ustar) return headerBlock(ustar);
  const size = entrySize(entry);
  const linkname = entry.linkname ?? '';
  const mtime = Math.floor(entry.mtime.getTime() / 1000);
  const typeflag = TYPEFLAG[entry.type];
  // PAX: the records USTAR cannot hold, sorted by key, then a main header with ASCII names cut to fit.
  const records: Record<string, string> = {};
  if (!isAscii(linkname) || Buffer.byteLength(linkname) > NAME_SIZE) records.linkpath = linkname;
  if (!isAscii(entry.name) || Buffer.byteLength(entry.name) > NAME_SIZE) records.path = entry.name;
  if (size >= MAX_OCTAL_SIZE) records.size = String(size);
  const parts: Buffer[] = [];
  const keys = Object.keys(records).sort();
  if (keys.length) {
    const data = Buffer.from(keys.map(k => paxRecord(k, records[k])).join(''), 'utf8');
    const slash = entry.name.lastIndexOf('/');
    const dir = entry.name.slice(0, slash + 1);
    const file = entry.name.slice(slash + 1);
    const xname = toAscii(posixJoin(dir, 'PaxHeaders.0', file))
      .slice(0, NAME_SIZE)
      .replace(/\/+$/, '');
    parts.push(headerBlock({name: xname, linkname: '', mode: 0, size: data.length, mtime: 0, typeflag: TYPEFLAG.pax, devFields: false}), data, padding(data.length));
  }
  parts.push(headerBlock({name: toAscii(entry.name), linkname: toAscii(linkname), mode: entry.mode, size, mtime, typeflag, devFields: true}));
  return Buffer.concat(parts);
}

/** Go's path.Join: joined and cleaned. */
function posixJoin(...parts: string[]): string {
  const joined = parts.filter(p => p !== '').join('/');
  const absolute = joined.startsWith('/');
  const out: string[] = [];
  for (const segment of joined.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(segment);
  }
  const cleaned = out.join('/');
  return absolute ? `/${cleaned}` : cleaned || '.';
}

/**
 * Told of each file's first bytes as they are read (an ELF header, say): `length` bytes (up to
 * HEAD_BYTES) of `buffer` at `offset`, passed without a view made for each file.
 */
export type FileInspector = (entry: TarEntry, buffer: Buffer, offset: number, length: number) => void;

/** How many leading bytes of each file a FileInspector is shown. */
export const HEAD_BYTES = 64;

/**
 * Chunk buffers handed out and given back, so that a layer of 100,000 files does not leave
 * hundreds of MiB of spent chunks for the garbage collector: the writer that consumes a chunk
 * gives it back once the compressor has taken it.
 */
export class ChunkPool {
  private readonly free: ArrayBuffer[] = [];

  acquire(): Buffer {
    const buffer = this.free.pop();
    return buffer ? Buffer.from(buffer) : Buffer.allocUnsafeSlow(STREAM_CHUNK);
  }

  /** Takes back a chunk (or a view of the start of one) from acquire(). */
  release(chunk: Buffer): void {
    if (chunk.byteOffset === 0 && chunk.buffer.byteLength === STREAM_CHUNK && this.free.length < 4) this.free.push(chunk.buffer as ArrayBuffer);
  }
}

export interface TarOptions {
  /** Where chunks come from; without one, each is a new buffer the consumer may keep. */
  pool?: ChunkPool;
  inspect?: FileInspector;
}

/**
 * A tar stream of `entries` in the given order, as Go's tar.Writer writes it: headers, file
 * data padded to 512 bytes, and two zero blocks at the end. Files are read from disk as the
 * consumer pulls, and must still have the size they were listed with.
 */
export function tarStream(entries: Iterable<TarEntry>): Readable {
  return Readable.from(tarChunks(entries), {objectMode: false, highWaterMark: STREAM_CHUNK});
}

/** Files up to this size are read synchronously into the chunk being filled. */
const SMALL_FILE = 256 * 1024;

/** Fills fixed-size chunks; hands out each one full (and the last one as it is). */
class ChunkFiller {
  private chunk: Buffer;
  private used = 0;
  readonly ready: Buffer[] = [];
  private readonly pool?: ChunkPool;

  constructor(pool?: ChunkPool) {
    this.pool = pool;
    this.chunk = this.fresh();
  }

  private fresh(): Buffer {
    return this.pool ? this.pool.acquire() : Buffer.allocUnsafe(STREAM_CHUNK);
  }

  /** Room for `n` contiguous bytes in the current chunk (n <= STREAM_CHUNK), starting a new one if needed; returns their offset. */
  reserve(n: number): number {
    if (this.used + n > this.chunk.length) this.finish();
    const at = this.used;
    this.used += n;
    return at;
  }

  /** Gives back the end of a reservation that was not used. */
  unreserve(n: number): void {
    this.used -= n;
  }

  get buffer(): Buffer {
    return this.chunk;
  }

  put(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.used === this.chunk.length) this.finish();
      const n = Math.min(bytes.length - offset, this.chunk.length - this.used);
      bytes.copy(this.chunk, this.used, offset, offset + n);
      this.used += n;
      offset += n;
    }
  }

  zeros(n: number): void {
    while (n > 0) {
      if (this.used === this.chunk.length) this.finish();
      const k = Math.min(n, this.chunk.length - this.used);
      this.chunk.fill(0, this.used, this.used + k);
      this.used += k;
      n -= k;
    }
  }

  /** The current chunk, as far as it is filled, goes to `ready`. */
  finish(): void {
    if (this.used === 0) return;
    this.ready.push(this.chunk.subarray(0, this.used));
    this.chunk = this.fresh();
    this.used = 0;
  }

  take(): Buffer[] {
    return this.ready.splice(0, this.ready.length);
  }

  /** Returns the unused current chunk to the pool. */
  close(): void {
    if (this.used === 0) this.pool?.release(this.chunk);
  }
}

/**
 * The tar stream as chunks of STREAM_CHUNK bytes whatever the entries, so that a tree of
 * thousands of small files costs what its bytes cost: headers are encoded in place, small files
 * are read straight into the chunk with three system calls (open, read, close) and no stream or
 * promise of their own, and only large files are read asynchronously, in chunk-sized reads.
 * With a pool, each chunk is the consumer's to give back.
 */
export async function* tarChunks(entries: Iterable<TarEntry>, options: TarOptions = {}): AsyncGenerator<Buffer> {
  const out = new ChunkFiller(options.pool);
  const inspect = options.inspect;
  try {
    for (const entry of entries) {
      const ustar = ustarFields(entry);
      if (ustar) {
        const at = out.reserve(BLOCK); // first: it may start a new chunk, which out.buffer then is
        writeHeaderBlock(out.buffer, at, ustar);
      } else out.put(encodeHeader(entry));
      if (entry.type === 'file') {
        const size = entrySize(entry);
        if (entry.content) {
          if (entry.content.length !== size) throw new Error(`the content of ${entry.name} is not ${size} bytes`);
          out.put(entry.content);
        } else if (size > 0 && size <= SMALL_FILE) {
          const at = readSmallFile(entry.source as string, size, out);
          inspect?.(entry, out.buffer, at, Math.min(size, HEAD_BYTES));
        } else if (size > 0) {
          out.finish();
          yield* out.take();
          let first = true;
          for await (const chunk of fileChunks(entry.source as string, size, options.pool)) {
            if (first) inspect?.(entry, chunk, 0, Math.min(chunk.length, HEAD_BYTES));
            first = false;
            yield chunk;
          }
        } else {
          checkEmpty(entry.source as string);
        }
        const rest = size % BLOCK;
        if (rest) out.zeros(BLOCK - rest);
      }
      if (out.ready.length) yield* out.take();
    }
    out.zeros(2 * BLOCK);
    out.finish();
    yield* out.take();
  } finally {
    out.close();
  }
}

function changed(file: string, how: 'shrank' | 'grew'): Error {
  return Object.assign(new Error(`${file} ${how} while it was being packaged`), {code: 'ECHANGED', path: file});
}

/** A small file read into the chunk, at the offset returned: one byte more than listed is asked for, to see growth. */
function readSmallFile(file: string, size: number, out: ChunkFiller): number {
  const at = out.reserve(size + 1);
  const fd = openSync(file, 'r');
  try {
    let read = 0;
    while (read < size + 1) {
      const n = readSync(fd, out.buffer, at + read, size + 1 - read, read);
      if (n === 0) break;
      read += n;
    }
    if (read < size) throw changed(file, 'shrank');
    if (read > size) throw changed(file, 'grew');
    return at;
  } finally {
    closeSync(fd);
    out.unreserve(1);
  }
}

/** An empty file must still be empty. */
function checkEmpty(file: string): void {
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, Buffer.alloc(1), 0, 1, 0) > 0) throw changed(file, 'grew');
  } finally {
    closeSync(fd);
  }
}

/** Exactly `size` bytes of a file, in chunks; a file that changed size since it was listed is an error. */
async function* fileChunks(file: string, size: number, pool?: ChunkPool): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    let position = 0;
    while (position < size) {
      const buffer = pool ? pool.acquire() : Buffer.allocUnsafe(STREAM_CHUNK);
      const want = Math.min(STREAM_CHUNK, size - position);
      const {bytesRead} = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) {
        pool?.release(buffer);
        throw changed(file, 'shrank');
      }
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
    const probe = Buffer.alloc(1);
    if ((await handle.read(probe, 0, 1, position)).bytesRead > 0) throw changed(file, 'grew');
  } finally {
    await handle.close();
  }
}
