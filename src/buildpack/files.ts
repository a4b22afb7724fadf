import {closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, type Stats} from 'node:fs';
import path from 'node:path';
import {UserError, withPath} from '../util/errors.js';

/** One file system object below a root, by its POSIX path relative to that root. */
export type SourceEntry = {path: string; type: 'file'; source: string; executable: boolean; size: number; inode?: string} | {path: string; type: 'symlink'; target: string} | {path: string; type: 'directory'};

// Never part of a buildpack: version control and CI configuration (what jam and pack users
// exclude by hand with include-files).
const EXCLUDED_TOP_LEVEL = new Set(['.git', '.hg', '.svn', '.github', '.gitlab', '.circleci', '.buildkite', '.gitlab-ci.yml', '.travis.yml']);

/**
 * Lists everything below `root` without following symlinks, so a link can never pull files from
 * outside the buildpack. `skip` holds absolute paths not to descend into (the action's own
 * output and work directories when they sit inside the buildpack).
 *
 * The calls are synchronous: a buildpack that vendors a runtime has 100,000 files, and a
 * promise per lstat would cost a thread-pool round trip each, many times the call itself.
 */
export function scanTree(root: string, skip: string[] = [], topLevelExcludes = true, platform: NodeJS.Platform = process.platform): SourceEntry[] {
  const entries: SourceEntry[] = [];
  const skipped = new Set(skip.map(p => path.resolve(p)));
  // Paths are joined with Array#join, not path.join (the directories are normalised already,
  // and a normalisation builds strings to throw away) nor `+` (V8 keeps a concatenation as a
  // rope, then adds a flat copy the first time the path is read: three strings for one).
  function walk(dir: string, rel: string): void {
    let names: string[];
    try {
      // Go's filepath.Walk order, which pack's layers follow: names sorted by their bytes.
      names = readdirSync(dir).sort(compareNames);
    } catch (error) {
      throw withPath(error, dir);
    }
    for (const name of names) {
      if (topLevelExcludes && !rel && EXCLUDED_TOP_LEVEL.has(name)) continue;
      const abs = [dir, name].join(path.sep);
      const relPath = rel ? [rel, name].join('/') : name;
      let stat: Stats;
      try {
        stat = lstatSync(abs);
      } catch (error) {
        throw withPath(error, abs);
      }
      if (stat.isSymbolicLink()) {
        let target: string;
        try {
          target = readlinkSync(abs);
        } catch (error) {
          throw withPath(error, abs);
        }
        entries.push({path: relPath, type: 'symlink', target});
      } else if (stat.isDirectory()) {
        if (skipped.has(abs)) continue;
        entries.push({path: relPath, type: 'directory'});
        walk(abs, relPath);
      } else if (stat.isFile()) {
        const executable = platform === 'win32' ? looksExecutable(abs, relPath) : (stat.mode & 0o111) !== 0;
        // A file with other names is a hard link: pack ships the first name it meets as the file.
        const inode = stat.nlink > 1 ? `${stat.dev}:${stat.ino}` : undefined;
        // Sizes below 2^30 as small integers, not heap numbers (what Stats gives).
        const size = stat.size < 0x4000_0000 ? stat.size | 0 : stat.size;
        entries.push({path: relPath, type: 'file', source: abs, executable, size, ...(inode ? {inode} : {})});
      } else {
        throw new UserError(`${abs} is neither a file, a directory nor a symlink; remove it from the buildpack.`);
      }
    }
  }
  const start = path.resolve(root);
  walk(start === path.parse(start).root ? start.slice(0, -1) : start, '');
  return entries;
}

/**
 * Windows has no exec bits, so there a file counts as executable by its content: a script
 * (`#!`), an ELF binary, or anything under a bin/ directory. The same checkout then gives the
 * same modes, and so the same digests, on a Windows runner as on Linux and macOS.
 */
function looksExecutable(file: string, relPath: string): boolean {
  if (/(^|\/)bin\//.test(relPath)) return true;
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const bytesRead = readSync(fd, head, 0, 4, 0);
    return (bytesRead >= 2 && head[0] === 0x23 && head[1] === 0x21) || (bytesRead === 4 && head.readUInt32BE(0) === 0x7f454c46);
  } finally {
    closeSync(fd);
  }
}

/**
 * Normalises a relative POSIX path and refuses one that is absolute or climbs out with `..`.
 * `what` describes where it came from, for the error.
 */
export function containedPath(p: string, what: string): string {
  const normalised = path.posix.normalize(p.replaceAll('\\', '/')).replace(/\/$/, '');
  if (path.posix.isAbsolute(normalised) || normalised === '..' || normalised.startsWith('../') || /^[A-Za-z]:/.test(normalised)) {
    throw new UserError(`${what} "${p}" leaves the buildpack directory; use a path inside it.`);
  }
  return normalised === '.' ? '' : normalised;
}

/**
 * Names compared by their UTF-8 bytes, as Go's sort.Strings does, without encoding them: UTF-8
 * byte order is code point order, which UTF-16 code units follow except where a surrogate pair
 * (U+10000 and up) meets U+E000..U+FFFF; there the code points are compared.
 */
export function compareNames(a: string, b: string): number {
  return compareCodePoints(a, b, false);
}

/**
 * Path comparison in walk order: component by component (a/b before a-c, like filepath.Walk),
 * which is the order of the paths with `/` as the lowest character. Called for every pair a
 * sort compares, so it allocates nothing.
 */
export function compareWalkOrder(a: string, b: string): number {
  return compareCodePoints(a, b, true);
}

function compareCodePoints(a: string, b: string, slashFirst: boolean): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (slashFirst && ca === 0x2f) return -1;
    if (slashFirst && cb === 0x2f) return 1;
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca = a.codePointAt(i) as number;
      cb = b.codePointAt(i) as number;
    }
    return ca < cb ? -1 : 1;
  }
  return a.length - b.length;
}
