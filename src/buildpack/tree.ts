import path from 'node:path';
import {UserError} from '../util/errors.js';
import {KNOWN_ARCHITECTURES, formatPlatform, type Platform} from '../platform/platform.js';
import {compareWalkOrder, containedPath, type SourceEntry} from './files.js';

/** One entry of a platform's buildpack directory as it ships, in walk order. */
export type TreeEntry =
  | {path: string; type: 'directory'}
  | {path: string; type: 'file'; source: string; executable: boolean; size: number; inode?: string}
  | {path: string; type: 'file'; content: Buffer; executable: boolean; size: number}
  | {path: string; type: 'symlink'; target: string}
  /** A further name of a file shipped earlier in the tree (`target`): a hard link, as pack writes it. */
  | {path: string; type: 'link'; target: string; executable: boolean};

/** `linux/arm64`, `linux/arm/v7`: where a platform's own files live in the source (pack >= 0.34). */
export function platformRoot(p: Platform): string {
  return formatPlatform(p); // the same spelling: linux/arm/v7
}

/** Whether a path is under `linux/<known arch>` (checked without splitting: it runs per file). */
function isAnyPlatformRoot(relPath: string): boolean {
  if (!relPath.startsWith('linux/')) return false;
  const end = relPath.indexOf('/', 6);
  return KNOWN_ARCHITECTURES.includes(end < 0 ? relPath.slice(6) : relPath.slice(6, end));
}

/**
 * Maps a source path to where it ships for `platform`: files under the platform's own root move
 * to the top, files under another platform's root are dropped (undefined), the rest is shared.
 */
export function mapToPlatform(relPath: string, platform: Platform, root: string = `${platformRoot(platform)}/`): string | undefined {
  if (relPath.startsWith(root)) return relPath.slice(root.length);
  if (relPath.length < root.length && root.startsWith(relPath) && root[relPath.length] === '/') return undefined; // the root dirs themselves
  if (isAnyPlatformRoot(relPath)) return undefined;
  return relPath;
}

export interface TreeInput {
  /** Source files of the buildpack directory (scanTree). */
  source: SourceEntry[];
  /** Files the build produced for this platform, relative to its platform root. */
  built: SourceEntry[];
  /** buildpack.toml (or extension.toml) as it ships. */
  descriptor: string;
  /** Its name: `buildpack.toml` unless this is an image extension. */
  descriptorName?: string;
  includeFiles?: string[];
  platform: Platform;
  /** Files that ship whatever include-files says (offline dependencies). */
  bundled?: SourceEntry[];
}

/**
 * The entries of one platform's image in walk order: files, symlinks and directories (empty ones
 * too, as pack ships them) with their parents, and the later names of a hard-linked file as links
 * to its first name.
 *
 * A buildpack may hold 100,000 files, most of them shared by every platform: an entry that ships
 * under its own path is the source entry itself, not a copy, and nothing is kept per entry
 * beyond the list returned.
 */
export function platformTree(input: TreeInput): TreeEntry[] {
  const descriptorName = input.descriptorName ?? 'buildpack.toml';
  const wanted = input.includeFiles?.map(p => mapToPlatform(containedPath(p, 'buildpack.toml metadata.include-files lists'), input.platform)).filter((p): p is string => p !== undefined && p !== '');
  const included = (p: string): boolean => !wanted || wanted.some(w => p === w || (p.length > w.length && p.startsWith(w) && p[w.length] === '/'));
  // The build's files replace source files of the same path, and the platform's own files
  // (linux/<arch>/bin/run) shared ones (bin/run).
  const builtPaths = new Set(input.built.map(e => e.path));
  const replaced = new Set(builtPaths);
  const root = `${platformRoot(input.platform)}/`;
  for (const entry of input.source) if (entry.path.startsWith(root)) replaced.add(entry.path.slice(root.length));
  const shipped: TreeEntry[] = [];
  for (const entry of input.source) {
    const mapped = mapToPlatform(entry.path, input.platform, root);
    if (!mapped || mapped === descriptorName || !included(mapped)) continue;
    const own = mapped !== entry.path;
    if (!own && replaced.has(mapped)) continue;
    if (own && builtPaths.has(mapped)) continue;
    shipped.push(own ? {...entry, path: mapped} : entry);
  }
  for (const entry of input.built) if (entry.path !== descriptorName && included(entry.path)) shipped.push(entry);
  for (const entry of input.bundled ?? []) if (entry.type !== 'directory') shipped.push(entry);
  const content = Buffer.from(input.descriptor, 'utf8');
  shipped.push({path: descriptorName, type: 'file', content, executable: false, size: content.length});

  for (const entry of shipped) {
    if (entry.type === 'symlink') checkSymlink(entry.path, entry.target, input.platform);
  }
  // Parents that are not shipped themselves (include-files naming files deep down, the build's
  // bin/) are added; directories that are shipped are in the list already.
  const directories = new Set<string>();
  for (const entry of shipped) if (entry.type === 'directory') directories.add(entry.path);
  const complete = new Set<string>(); // directories whose parents are all present too
  const parents: TreeEntry[] = [];
  const visited: string[] = [];
  let lastParent = '';
  for (const entry of shipped) {
    // Entries come mostly in walk order: one whose parent is the last one's is done already.
    const slash0 = entry.path.lastIndexOf('/');
    if (slash0 > 0 && slash0 === lastParent.length && entry.path.startsWith(lastParent)) continue;
    visited.length = 0;
    for (let slash = entry.path.lastIndexOf('/'); slash > 0; slash = entry.path.lastIndexOf('/', slash - 1)) {
      const dir = entry.path.slice(0, slash);
      if (complete.has(dir)) break;
      if (!directories.has(dir)) {
        directories.add(dir);
        parents.push({path: dir, type: 'directory'});
      }
      visited.push(dir);
    }
    for (const dir of visited) complete.add(dir);
    lastParent = slash0 > 0 ? entry.path.slice(0, slash0) : '';
  }
  const tree = parents.length ? shipped.concat(parents) : shipped;
  tree.sort((a, b) => compareWalkOrder(a.path, b.path));
  const firstName = new Map<string, string>();
  for (let i = 0; i < tree.length; i++) {
    const entry = tree[i];
    if (entry.type !== 'file' || !('inode' in entry) || !entry.inode) continue;
    const first = firstName.get(entry.inode);
    if (first === undefined) firstName.set(entry.inode, entry.path);
    else tree[i] = {path: entry.path, type: 'link', target: first, executable: entry.executable};
  }
  return tree;
}

function checkSymlink(linkPath: string, target: string, platform: Platform): void {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  if (path.posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) {
    throw new UserError(`The symlink ${linkPath} -> ${target} in the ${formatPlatform(platform)} buildpack points outside the buildpack directory; make it a relative link to a file inside the buildpack.`);
  }
}

/**
 * Every include-files entry must ship in at least one platform; a typo otherwise silently drops
 * a file. An entry under a symlinked directory is reported as such: links are never followed.
 */
export function checkIncludeFiles(includeFiles: string[], trees: TreeEntry[][], platforms: Platform[], source: SourceEntry[], descriptorFile: string): void {
  for (const raw of includeFiles) {
    const entry = containedPath(raw, 'buildpack.toml metadata.include-files lists');
    if (entry === '' || entry === 'buildpack.toml' || entry === 'extension.toml') continue;
    // An entry for a platform not being built this run is not an error.
    if (isAnyPlatformRoot(entry) && platforms.every(p => mapToPlatform(entry, p) === undefined)) continue;
    const found = platforms.some((p, i) => {
      const mapped = mapToPlatform(entry, p);
      return mapped !== undefined && trees[i].some(e => e.path === mapped || e.path.startsWith(`${mapped}/`));
    });
    if (found) continue;
    const viaLink = source.find(e => e.type === 'symlink' && entry.startsWith(`${e.path}/`));
    if (viaLink) {
      throw new UserError(`${descriptorFile} include-files lists "${raw}", which is inside the symlink ${viaLink.path}; links are not followed, so list the files where they really are.`);
    }
    throw new UserError(`${descriptorFile} include-files lists "${raw}", which is not in the buildpack directory and was not produced by the build; fix the path or remove the entry.`);
  }
}
