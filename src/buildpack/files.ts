import { lstat, open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { InputError, withPath } from '../util/errors.js';

/** One file system object below a root, by its POSIX path relative to that root. */
export type SourceEntry =
  | { path: string; type: 'file'; source: string; executable: boolean; size: number; inode?: string }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'directory' };

// Never part of a buildpack: version control and CI configuration (what jam and pack users
// exclude by hand with include-files).
const EXCLUDED_TOP_LEVEL = new Set([
  '.git', '.hg', '.svn', '.github', '.gitlab', '.circleci', '.buildkite', '.gitlab-ci.yml', '.travis.yml',
]);

/**
 * Lists everything below `root` without following symlinks, so a link can never pull files from
 * outside the buildpack. `skip` holds absolute paths not to descend into (the action's own
 * output and work directories when they sit inside the buildpack).
 */
export async function scanTree(root: string, skip: string[] = [], topLevelExcludes = true, platform: NodeJS.Platform = process.platform): Promise<SourceEntry[]> {
  const entries: SourceEntry[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    // Go's filepath.Walk order, which pack's layers follow: names sorted by their bytes.
    const names = (await readdir(dir).catch((error: unknown) => Promise.reject(withPath(error, dir)))).sort(compareNames);
    for (const name of names) {
      const abs = path.join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      if (topLevelExcludes && !rel && EXCLUDED_TOP_LEVEL.has(name)) continue;
      if (skip.includes(abs)) continue;
      const stat = await lstat(abs).catch((error: unknown) => Promise.reject(withPath(error, abs)));
      if (stat.isSymbolicLink()) {
        entries.push({ path: relPath, type: 'symlink', target: await readlink(abs) });
      } else if (stat.isDirectory()) {
        entries.push({ path: relPath, type: 'directory' });
        await walk(abs, relPath);
      } else if (stat.isFile()) {
        const executable = platform === 'win32' ? await looksExecutable(abs, relPath) : (stat.mode & 0o111) !== 0;
        // A file with other names is a hard link: pack ships the first name it meets as the file.
        const inode = stat.nlink > 1 ? `${stat.dev}:${stat.ino}` : undefined;
        entries.push({ path: relPath, type: 'file', source: abs, executable, size: stat.size, ...(inode ? { inode } : {}) });
      } else {
        throw new InputError(`${abs} is neither a file, a directory nor a symlink; remove it from the buildpack.`);
      }
    }
  }
  await walk(root, '');
  return entries;
}

/**
 * Windows has no exec bits, so there a file counts as executable by its content: a script
 * (`#!`), an ELF binary, or anything under a bin/ directory. The same checkout then gives the
 * same modes, and so the same digests, on a Windows runner as on Linux and macOS.
 */
async function looksExecutable(file: string, relPath: string): Promise<boolean> {
  if (/(^|\/)bin\//.test(relPath)) return true;
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return (bytesRead >= 2 && head[0] === 0x23 && head[1] === 0x21) || (bytesRead === 4 && head.readUInt32BE(0) === 0x7f454c46);
  } finally {
    await handle.close();
  }
}

/**
 * Normalises a relative POSIX path and refuses one that is absolute or climbs out with `..`.
 * `what` describes where it came from, for the error.
 */
export function containedPath(p: string, what: string): string {
  const normalised = path.posix.normalize(p.replaceAll('\\', '/')).replace(/\/$/, '');
  if (path.posix.isAbsolute(normalised) || normalised === '..' || normalised.startsWith('../') || /^[A-Za-z]:/.test(normalised)) {
    throw new InputError(`${what} "${p}" leaves the buildpack directory; use a path inside it.`);
  }
  return normalised === '.' ? '' : normalised;
}

/** Names compared by their UTF-8 bytes, as Go's sort.Strings does. */
export function compareNames(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Path comparison in walk order: component by component (a/b before a-c, like filepath.Walk). */
export function compareWalkOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return compareNames(pa[i], pb[i]);
  }
  return pa.length - pb.length;
}
