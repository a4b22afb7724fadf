import { createWriteStream } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { InputError } from './errors.js';

export interface ExtractOptions {
  gzip: boolean;
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
 * climbs out with `..` or is absolute (unless allowed) is refused, so a crafted archive can
 * never write outside `dest`.
 */
export function entryPath(name: string, options: Pick<ExtractOptions, 'archive' | 'leadingSlashAllowed'>): string {
  const normalised = name.replaceAll('\\', '/');
  const parts = normalised.split('/').filter((p) => p !== '' && p !== '.');
  const relative = parts.join('/');
  if (parts.includes('..')) {
    throw new InputError(`${options.archive} holds the entry "${name}", which climbs out of the archive with ".."; refusing to extract it, so rebuild the archive.`);
  }
  if ((normalised.startsWith('/') || /^[A-Za-z]:\//.test(normalised)) && !options.leadingSlashAllowed?.(relative)) {
    throw new InputError(`${options.archive} holds the absolute entry "${name}"; refusing to extract it, so rebuild the archive with relative names.`);
  }
  return relative;
}

/** The entries of an OCI layout, which pack's .cnb files name with a leading `/`. */
export function isLayoutEntry(relative: string): boolean {
  return /^(oci-layout|index\.json|blobs|blobs\/sha256|blobs\/sha256\/[a-f0-9]{64})$/.test(relative);
}

/**
 * Extracts a tar (optionally gzip) stream into `dest`: files, directories and symlinks whose
 * targets stay inside `dest`; anything else (devices, hard links out of the tree) is refused.
 * Modes keep only permission bits.
 */
export async function extractArchive(source: Readable, dest: string, options: ExtractOptions): Promise<void> {
  const ex = extract();
  const consume = (async () => {
    for await (const entry of ex) {
      const { header } = entry;
      const rel = entryPath(header.name, options);
      const target = path.join(dest, rel);
      if (header.type === 'directory') {
        await mkdir(target, { recursive: true, mode: 0o755 });
      } else if (header.type === 'file' || header.type === 'contiguous-file') {
        await mkdir(path.dirname(target), { recursive: true });
        await pipeline(entry as unknown as Readable, createWriteStream(target, { mode: header.mode & 0o777 }));
        continue;
      } else if (header.type === 'symlink') {
        const link = header.linkname ?? '';
        const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), link));
        if (path.posix.isAbsolute(link) || resolved === '..' || resolved.startsWith('../')) {
          throw new InputError(`${options.archive} holds the symlink "${header.name}" -> "${link}", which points outside the archive; refusing to extract it.`);
        }
        await mkdir(path.dirname(target), { recursive: true });
        await symlink(link, target);
      } else {
        throw new InputError(`${options.archive} holds "${header.name}" of type ${header.type}, which a buildpack archive never needs; refusing to extract it.`);
      }
      entry.resume();
    }
  })();
  const sink = ex as unknown as Writable;
  await Promise.all([options.gzip ? pipeline(source, createGunzip(), sink) : pipeline(source, sink), consume]);
}
