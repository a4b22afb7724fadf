import { escapedId } from '../buildpack/descriptor.js';
import type { TreeEntry } from '../buildpack/tree.js';
import type { TarEntry } from '../oci/tar.js';

/** pack's normalised timestamp (archive.NormalizedDateTime): 1980-01-01T00:00:01Z. */
export const NORMALIZED_MTIME = new Date(Date.UTC(1980, 0, 1, 0, 0, 1));

// The lifecycle executes these whatever their mode on disk (pack forces 0755).
const ENTRY_POINTS = new Set(['bin/build', 'bin/detect', 'bin/generate']);

/**
 * The tar entries of a buildpack layer as `pack buildpack package` writes them: the
 * cnb/buildpacks/<escaped id> and <version> directories, then every file below, root-owned,
 * mtime 1980-01-01T00:00:01Z, directories and executables 0755, other files 0644, links kept.
 * Names are relative (no leading `/`), as OCI layers conventionally are; tar-stream would also
 * drop a leading `/` from long names it splits into the ustar prefix field.
 */
export function buildpackLayerEntries(tree: TreeEntry[], id: string, version: string): TarEntry[] {
  const base = `cnb/buildpacks/${escapedId(id)}`;
  const root = `${base}/${version}`;
  const entries: TarEntry[] = [
    { name: base, type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME },
    { name: root, type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME },
  ];
  for (const e of tree) {
    const name = `${root}/${e.path}`;
    if (e.type === 'directory') {
      entries.push({ name, type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME });
    } else if (e.type === 'symlink') {
      entries.push({ name, type: 'symlink', mode: 0o777, mtime: NORMALIZED_MTIME, linkname: e.target });
    } else {
      const mode = e.executable || ENTRY_POINTS.has(e.path) ? 0o755 : 0o644;
      entries.push({
        name,
        type: 'file',
        mode,
        mtime: NORMALIZED_MTIME,
        size: e.size,
        ...('source' in e ? { source: e.source } : { content: e.content }),
      });
    }
  }
  return entries;
}
