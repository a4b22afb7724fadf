import {escapedId} from '../buildpack/descriptor.js';
import type {TreeEntry} from '../buildpack/tree.js';
import {ustarCanHold, type TarEntry} from '../oci/tar.js';

/** pack's normalised timestamp (archive.NormalizedDateTime): 1980-01-01T00:00:01Z. */
export const NORMALIZED_MTIME = new Date(Date.UTC(1980, 0, 1, 0, 0, 1));

// The lifecycle executes these whatever their mode on disk (pack forces 0755).
const ENTRY_POINTS = new Set(['bin/build', 'bin/detect', 'bin/generate']);

/** A buildpack or an image extension: where its layer puts it, `/cnb/buildpacks` or `/cnb/extensions`. */
export type ModuleKind = 'buildpack' | 'extension';

/**
 * The tar entries of a module's layer exactly as `pack buildpack package` (or `pack extension
 * package`) writes them, so that the same directory gets the same diffID from both:
 * `/cnb/<kind>s/<escaped id>` and its `<version>` directory, then every entry of the tree in
 * walk order under it, named with the leading `/`, root-owned, mtime 1980-01-01T00:00:01Z,
 * directories and symlinks 0755, files 0755 when executable or an entry point and 0644
 * otherwise, a hard link's later names as links to the first.
 *
 * The header formats follow pack's two passes: pack first tars the directory with relative
 * names (USTAR where USTAR can hold the entry, else PAX), then rewrites each header under the
 * version directory keeping that format. An entry whose relative name was USTAR but whose full
 * name USTAR cannot hold makes pack fail; there the action writes PAX and goes on (README).
 */
export function* moduleLayerEntries(tree: TreeEntry[], kind: ModuleKind, id: string, version: string): Generator<TarEntry> {
  // Made one at a time as the tar writer takes them: a tree of 100,000 files never exists twice.
  const base = `/cnb/${kind}s/${escapedId(id)}`;
  const root = moduleRoot(kind, id, version);
  const dir = (name: string): TarEntry => ({name, type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME, format: 'auto'});
  yield dir(base);
  yield dir(root);
  for (const e of tree) {
    // Joined flat: a `+` rope would be flattened into a second string when the header is written.
    const name = [root, e.path].join('/');
    if (e.type === 'directory') {
      yield {...dir(name), format: passOneFormat(e.path)};
    } else if (e.type === 'symlink') {
      yield {name, type: 'symlink', mode: 0o755, mtime: NORMALIZED_MTIME, linkname: e.target, format: passOneFormat(e.path, e.target)};
    } else if (e.type === 'link') {
      const mode = e.executable || ENTRY_POINTS.has(e.path) ? 0o755 : 0o644;
      yield {name, type: 'link', mode, mtime: NORMALIZED_MTIME, linkname: `${root}/${e.target}`, format: passOneFormat(e.path, e.target)};
    } else {
      const mode = e.executable || ENTRY_POINTS.has(e.path) ? 0o755 : 0o644;
      yield {
        name,
        type: 'file',
        mode,
        mtime: NORMALIZED_MTIME,
        size: e.size,
        format: passOneFormat(e.path, '', e.size),
        ...('source' in e ? {source: e.source} : {content: e.content})
      };
    }
  }
}

/** Where a module's files are in its layer: `/cnb/buildpacks/<escaped id>/<version>`. */
export function moduleRoot(kind: ModuleKind, id: string, version: string): string {
  return `/cnb/${kind}s/${escapedId(id)}/${version}`;
}

/** The format pack's first pass gives an entry by its relative name: kept in the second. */
function passOneFormat(relative: string, linkname = '', size = 0): TarEntry['format'] {
  return ustarCanHold(relative, linkname, size) ? 'auto' : 'pax';
}

/** The layer of a buildpack. */
export function buildpackLayerEntries(tree: TreeEntry[], id: string, version: string): Iterable<TarEntry> {
  return moduleLayerEntries(tree, 'buildpack', id, version);
}
