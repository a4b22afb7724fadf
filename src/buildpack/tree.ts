import path from 'node:path';
import { InputError } from '../util/errors.js';
import { KNOWN_ARCHITECTURES, formatPlatform, type Platform } from '../platform/platform.js';
import { compareWalkOrder, containedPath, type SourceEntry } from './files.js';

/** One entry of a platform's buildpack directory as it ships, in walk order. */
export type TreeEntry =
  | { path: string; type: 'directory' }
  | { path: string; type: 'file'; source: string; executable: boolean; size: number; inode?: string }
  | { path: string; type: 'file'; content: Buffer; executable: boolean; size: number }
  | { path: string; type: 'symlink'; target: string }
  /** A further name of a file shipped earlier in the tree (`target`): a hard link, as pack writes it. */
  | { path: string; type: 'link'; target: string; executable: boolean };

/** `linux/arm64`, `linux/arm/v7`: where a platform's own files live in the source (pack >= 0.34). */
export function platformRoot(p: Platform): string {
  return formatPlatform(p); // the same spelling: linux/arm/v7
}

function isAnyPlatformRoot(relPath: string): boolean {
  const [os, arch] = relPath.split('/');
  return os === 'linux' && arch !== undefined && KNOWN_ARCHITECTURES.includes(arch);
}

/**
 * Maps a source path to where it ships for `platform`: files under the platform's own root move
 * to the top, files under another platform's root are dropped (undefined), the rest is shared.
 */
export function mapToPlatform(relPath: string, platform: Platform): string | undefined {
  const root = `${platformRoot(platform)}/`;
  if (relPath.startsWith(root)) return relPath.slice(root.length);
  if (`${relPath}/` === root || root.startsWith(`${relPath}/`)) return undefined; // the root dirs themselves
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
 */
export function platformTree(input: TreeInput): TreeEntry[] {
  const byPath = new Map<string, TreeEntry>();
  for (const entry of input.source) {
    const mapped = mapToPlatform(entry.path, input.platform);
    if (mapped) byPath.set(mapped, { ...entry, path: mapped });
  }
  for (const entry of input.built) byPath.set(entry.path, entry);

  let shipped = [...byPath.values()];
  if (input.includeFiles) {
    const wanted = input.includeFiles
      .map((p) => mapToPlatform(containedPath(p, 'buildpack.toml metadata.include-files lists'), input.platform))
      .filter((p): p is string => p !== undefined && p !== '');
    shipped = shipped.filter((e) => wanted.some((w) => e.path === w || e.path.startsWith(`${w}/`)));
  }
  const descriptorName = input.descriptorName ?? 'buildpack.toml';
  shipped = shipped.filter((e) => e.path !== descriptorName);
  for (const entry of input.bundled ?? []) if (entry.type !== 'directory') shipped.push(entry);
  const content = Buffer.from(input.descriptor, 'utf8');
  shipped.push({ path: descriptorName, type: 'file', content, executable: false, size: content.length });

  for (const entry of shipped) {
    if (entry.type === 'symlink') checkSymlink(entry.path, entry.target, input.platform);
  }
  const paths = new Set(shipped.map((e) => e.path));
  const tree: TreeEntry[] = [...shipped];
  for (const entry of shipped) {
    for (let dir = path.posix.dirname(entry.path); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (paths.has(dir)) continue;
      paths.add(dir);
      tree.push({ path: dir, type: 'directory' });
    }
  }
  tree.sort((a, b) => compareWalkOrder(a.path, b.path));
  const firstName = new Map<string, string>();
  return tree.map((entry) => {
    if (entry.type !== 'file' || !('inode' in entry) || !entry.inode) return entry;
    const first = firstName.get(entry.inode);
    if (first === undefined) {
      firstName.set(entry.inode, entry.path);
      return entry;
    }
    return { path: entry.path, type: 'link', target: first, executable: entry.executable };
  });
}

function checkSymlink(linkPath: string, target: string, platform: Platform): void {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  if (path.posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) {
    throw new InputError(
      `The symlink ${linkPath} -> ${target} in the ${formatPlatform(platform)} buildpack points outside the buildpack directory; make it a relative link to a file inside the buildpack.`,
    );
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
    if (isAnyPlatformRoot(entry) && platforms.every((p) => mapToPlatform(entry, p) === undefined)) continue;
    const found = platforms.some((p, i) => {
      const mapped = mapToPlatform(entry, p);
      return mapped !== undefined && trees[i].some((e) => e.path === mapped || e.path.startsWith(`${mapped}/`));
    });
    if (found) continue;
    const viaLink = source.find((e) => e.type === 'symlink' && entry.startsWith(`${e.path}/`));
    if (viaLink) {
      throw new InputError(
        `${descriptorFile} include-files lists "${raw}", which is inside the symlink ${viaLink.path}; links are not followed, so list the files where they really are.`,
      );
    }
    throw new InputError(
      `${descriptorFile} include-files lists "${raw}", which is not in the buildpack directory and was not produced by the build; fix the path or remove the entry.`,
    );
  }
}
