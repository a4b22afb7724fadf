import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { STREAM_CHUNK } from './gzip.js';

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
  return isAscii(s) ? s : [...s].filter((c) => c.charCodeAt(0) > 0 && c.charCodeAt(0) < 0x80).join('');
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

/** Go's formatString: the bytes, NUL-terminated when shorter; a cut that ends in `/` ends in NUL instead. */
function putString(block: Buffer, offset: number, size: number, s: string): void {
  const bytes = Buffer.from(s, 'latin1'); // callers pass ASCII only
  bytes.copy(block, offset, 0, Math.min(bytes.length, size));
  if (bytes.length < size) block[offset + bytes.length] = 0;
  if (bytes.length > size && block[offset + size - 1] === 0x2f) {
    const kept = s.slice(0, size).replace(/\/+$/, '').length;
    block[offset + kept] = 0;
  }
}

/** Go's formatOctal: zero-padded octal and a NUL; a value that does not fit is written as zeros. */
function putOctal(block: Buffer, offset: number, size: number, value: number): void {
  const fits = value >= 0 && value < 8 ** (size - 1);
  const digits = (fits ? value : 0).toString(8).padStart(size - 1, '0');
  putString(block, offset, size, digits);
}

const TYPEFLAG = { file: '0', link: '1', symlink: '2', directory: '5', pax: 'x' } as const;

/** A V7/USTAR header block as Go's templateV7Plus and SetFormat(USTAR|PAX) make it. */
function headerBlock(fields: { name: string; linkname: string; mode: number; size: number; mtime: number; typeflag: string; prefix?: string; devFields: boolean }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(fields.typeflag, 156, 'latin1');
  putString(b, 0, 100, fields.name);
  putString(b, 157, 100, fields.linkname);
  putOctal(b, 100, 8, fields.mode);
  putOctal(b, 108, 8, 0); // uid
  putOctal(b, 116, 8, 0); // gid
  putOctal(b, 124, 12, fields.size);
  putOctal(b, 136, 12, fields.mtime);
  if (fields.devFields) {
    putOctal(b, 329, 8, 0); // devmajor
    putOctal(b, 337, 8, 0); // devminor
  }
  if (fields.prefix) putString(b, 345, PREFIX_SIZE, fields.prefix);
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  // The checksum counts its own field as spaces: 6 octal digits, NUL, space.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  putOctal(b, 148, 7, sum);
  b[155] = 0x20;
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

/** The header block(s) of one entry: a USTAR block, or a PAX `x` block with its records and then the main block. */
export function encodeHeader(entry: TarEntry): Buffer {
  const size = entry.type === 'file' ? (entry.size ?? entry.content?.length ?? 0) : 0;
  const linkname = entry.linkname ?? '';
  const mtime = Math.floor(entry.mtime.getTime() / 1000);
  const typeflag = TYPEFLAG[entry.type];
  if (entry.format !== 'pax' && ustarCanHold(entry.name, linkname, size)) {
    const split = splitUstar(entry.name);
    return headerBlock({ name: split ? split[1] : entry.name, prefix: split?.[0], linkname, mode: entry.mode, size, mtime, typeflag, devFields: true });
  }
  // PAX: the records USTAR cannot hold, sorted by key, then a main header with ASCII names cut to fit.
  const records: Record<string, string> = {};
  if (!isAscii(linkname) || Buffer.byteLength(linkname) > NAME_SIZE) records.linkpath = linkname;
  if (!isAscii(entry.name) || Buffer.byteLength(entry.name) > NAME_SIZE) records.path = entry.name;
  if (size >= MAX_OCTAL_SIZE) records.size = String(size);
  const parts: Buffer[] = [];
  const keys = Object.keys(records).sort();
  if (keys.length) {
    const data = Buffer.from(keys.map((k) => paxRecord(k, records[k])).join(''), 'utf8');
    const slash = entry.name.lastIndexOf('/');
    const dir = entry.name.slice(0, slash + 1);
    const file = entry.name.slice(slash + 1);
    const xname = toAscii(posixJoin(dir, 'PaxHeaders.0', file)).slice(0, NAME_SIZE).replace(/\/+$/, '');
    parts.push(headerBlock({ name: xname, linkname: '', mode: 0, size: data.length, mtime: 0, typeflag: TYPEFLAG.pax, devFields: false }), data, padding(data.length));
  }
  parts.push(headerBlock({ name: toAscii(entry.name), linkname: toAscii(linkname), mode: entry.mode, size, mtime, typeflag, devFields: true }));
  return Buffer.concat(parts);
}

/** Go's path.Join: joined and cleaned. */
function posixJoin(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
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
 * A tar stream of `entries` in the given order, as Go's tar.Writer writes it: headers, file
 * data padded to 512 bytes, and two zero blocks at the end. Files are read from disk as the
 * consumer pulls, and must still have the size they were listed with.
 */
export function tarStream(entries: TarEntry[]): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false, highWaterMark: STREAM_CHUNK });
}

async function* tarChunks(entries: TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield encodeHeader(entry);
    if (entry.type !== 'file') continue;
    const size = entry.size ?? entry.content?.length ?? 0;
    if (entry.content) {
      if (entry.content.length !== size) throw new Error(`the content of ${entry.name} is not ${size} bytes`);
      yield entry.content;
    } else if (size > 0) {
      yield* fileChunks(entry.source as string, size);
    }
    const pad = padding(size);
    if (pad.length) yield pad;
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** Exactly `size` bytes of a file, in chunks; a file that changed size since it was listed is an error. */
async function* fileChunks(file: string, size: number): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    let position = 0;
    while (position < size) {
      const buffer = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) throw Object.assign(new Error(`${file} shrank while it was being packaged`), { code: 'ECHANGED', path: file });
      position += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    const probe = Buffer.alloc(1);
    if ((await handle.read(probe, 0, 1, position)).bytesRead > 0) throw Object.assign(new Error(`${file} grew while it was being packaged`), { code: 'ECHANGED', path: file });
  } finally {
    await handle.close();
  }
}
