import { createWriteStream } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { InputError } from './errors.js';

/**
 * The path an archive entry may be written to, relative to the extraction root. A leading `/` or
 * `./` is accepted (pack writes `/index.json`); an entry that climbs out with `..` is refused,
 * so a crafted archive can never write outside `dest`.
 */
export function entryPath(name: string, archive: string): string {
  const parts = name.replaceAll('\\', '/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new InputError(`${archive} holds the entry "${name}", which climbs out of the archive with ".."; refusing to extract it, so rebuild the archive.`);
  }
  return parts.join('/');
}

/**
 * Extracts a tar (optionally gzip) stream into `dest`: files, directories and symlinks whose
 * targets stay inside `dest`; anything else (devices, hard links out of the tree) is refused.
 * Modes keep only permission bits.
 */
export async function extractArchive(source: Readable, dest: string, options: { gzip: boolean; archive: string }): Promise<void> {
  const ex = extract();
  const consume = (async () => {
    for await (const entry of ex) {
      const { header } = entry;
      const rel = entryPath(header.name, options.archive);
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
