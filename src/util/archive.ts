import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import type {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {Unpack, type ReadEntry} from 'tar';
import {UserError} from './errors.js';

export interface ExtractOptions {
  /** How errors name the archive. */
  archive: string;
  /**
   * pack writes `.cnb` entries as `/index.json`, `/blobs/...`: accept a leading `/` only for the
   * entries this predicate allows. Anything else absolute is refused.
   */
  leadingSlashAllowed?: (relative: string) => boolean;
}

/**
 * The path an archive entry may be written to, relative to the extraction root. An entry that
 * climbs out with `..` or is absolute (unless allowed) is refused.
 */
export function entryPath(name: string, options: Pick<ExtractOptions, 'archive' | 'leadingSlashAllowed'>): string {
  const normalised = name.replaceAll('\\', '/');
  const parts = normalised.split('/').filter(p => p !== '' && p !== '.');
  const relative = parts.join('/');
  if (parts.includes('..')) {
    throw new UserError(`${options.archive} holds the entry "${name}", which climbs out of the archive with ".."; refusing to extract it, so rebuild the archive.`);
  }
  if ((normalised.startsWith('/') || /^[A-Za-z]:\//.test(normalised)) && !options.leadingSlashAllowed?.(relative)) {
    throw new UserError(`${options.archive} holds the absolute entry "${name}"; refusing to extract it, so rebuild the archive with relative names.`);
  }
  return relative;
}

/** The entries of an OCI layout, which pack's .cnb files name with a leading `/`. */
export function isLayoutEntry(relative: string): boolean {
  return /^(oci-layout|index\.json|blobs|blobs\/sha256|blobs\/sha256\/[a-f0-9]{64})$/.test(relative);
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * Extracts a tar stream (gzip-compressed or not, as its first bytes say) into `dest`, confined by
 * construction with the npm package `tar`, whose maintainers handle these attacks: no entry is
 * written through a symlink on disk, whatever links earlier entries made (`a -> .`, `a/b -> ..`
 * ...), an existing link is replaced rather than followed, and owners are not kept. On top of
 * that, every entry is checked here before it is written: names that climb out or are absolute,
 * symlinks whose target leaves the archive, hard links to anything outside, and devices or
 * FIFOs end the extraction with one sentence.
 */
export async function extractArchive(source: Readable, dest: string, options: ExtractOptions): Promise<void> {
  await mkdir(dest, {recursive: true});
  let refusal: Error | undefined;
  const refuse = (error: Error): false => {
    refusal ??= error;
    return false;
  };
  const unpack = new Unpack({
    cwd: dest,
    strict: true,
    preserveOwner: false,
    noMtime: true,
    maxDepth: 256,
    filter: (name: string, entry: ReadEntry | import('node:fs').Stats) => {
      if (!('type' in entry) || typeof entry.type !== 'string') return false;
      if (refusal) return false;
      try {
        return check(entry, name, options);
      } catch (error) {
        return refuse(error as Error);
      }
    }
  });
  try {
    await pipeline(source, unpack);
  } catch (error) {
    throw refusal ?? describe(error, options.archive, dest);
  }
  if (refusal) throw refusal;
}

/** Checks one entry and gives node-tar its relative name (what pack's leading `/` becomes). */
function check(entry: ReadEntry, name: string, options: ExtractOptions): boolean {
  if (!ALLOWED_TYPES.has(entry.type)) {
    throw new UserError(`${options.archive} holds "${name}" of type ${entry.type}, which a buildpack archive never needs; refusing to extract it.`);
  }
  const relative = entryPath(name, options);
  if (relative === '') return false; // the root itself
  entry.path = relative;
  if (typeof entry.mode === 'number') entry.mode &= 0o777; // no setuid, setgid or sticky bits
  if (entry.type === 'SymbolicLink') {
    const link = String(entry.linkpath ?? '');
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(relative), link.replaceAll('\\', '/')));
    if (path.posix.isAbsolute(link) || link.includes('\\') || resolved === '..' || resolved.startsWith('../')) {
      throw new UserError(`${options.archive} holds the symlink "${name}" -> "${link}", which points outside the archive; refusing to extract it.`);
    }
  }
  if (entry.type === 'Link') {
    const link = String(entry.linkpath ?? '');
    const target = entryPath(link, {...options, archive: `${options.archive} (the hard link "${name}")`});
    if (!target) throw new UserError(`${options.archive} holds the hard link "${name}" to the archive's root; refusing to extract it.`);
    entry.linkpath = target;
  }
  return true;
}

/** node-tar's and zlib's failures as one sentence. */
function describe(error: unknown, archive: string, dest: string): Error {
  const e = error as NodeJS.ErrnoException & {path?: string; symlink?: string; entry?: {path?: string}};
  const inside = (p: string | undefined): string => (p ? path.relative(dest, path.resolve(dest, p)) || '.' : '?');
  if (e.code === 'TAR_SYMLINK_ERROR') {
    const name = e.entry?.path ?? inside(e.path);
    return new UserError(`${archive} holds "${name}", which would be written through the symlink "${inside(e.symlink)}" it made earlier; refusing to extract it.`, {cause: error});
  }
  if (e.code === 'TAR_ENTRY_ERROR' || e.code === 'TAR_ENTRY_INVALID' || e.code === 'TAR_BAD_ARCHIVE' || e.code === 'TAR_ABORT' || e.code === 'TAR_ENTRY_UNSUPPORTED' || e.code === 'TAR_ENTRY_INFO') {
    return new UserError(`${archive} cannot be extracted safely (${e.message.replace(/^TAR_[A-Z_]+: /, '')}); refusing it, so rebuild the archive.`, {cause: error});
  }
  if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR' || e.errno === -3) {
    return new UserError(`${archive} is not a valid gzip-compressed tar (${e.message}); the file is damaged, so fetch or build it again.`, {cause: error});
  }
  return error as Error;
}
