import {createWriteStream} from 'node:fs';
import {copyFile, link, readdir, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {pipeline} from 'node:stream/promises';
import {STREAM_CHUNK} from '../oci/gzip.js';
import {OCI_LAYOUT_FILE} from '../oci/layout.js';
import {tarStream, type TarEntry} from '../oci/tar.js';
import {NORMALIZED_MTIME} from '../image/layer-entries.js';
import {platformSlug} from '../platform/platform.js';
import {cancellation} from '../util/cancel.js';
import {withPath} from '../util/errors.js';
import type {StagedPackage} from './layout.js';

/** The suffix of the layout tarball among the release assets. */
export const LAYOUT_ASSET_SUFFIX = '-oci-layout.tar';

/**
 * Release assets as Paketo's release workflows attach them, written into the staging folder so
 * that they move into `output` with the rest: `<name>.cnb` (the linux/amd64 image, Paketo's
 * backward-compatible name), `<name>-<os>-<arch>[-<variant>].cnb` for every platform,
 * `<name>-index-digest.sha256` (`sha256:<hex>` and a newline), and `<name>-oci-layout.tar`, the
 * whole layout as one file, which `mode: publish` publishes byte for byte. The .cnb files must be
 * written already. Returns the assets' paths in `output`.
 */
export async function writeReleaseAssets(result: StagedPackage, name: string): Promise<string[]> {
  const staged = (file: string): string => path.join(result.stagingDir, file);
  const files: string[] = [];
  const amd64 = result.platforms.find(p => p.image.platform.architecture === 'amd64' && p.image.platform.os === 'linux');
  if (amd64) files.push(await alias(amd64.stagedCnbFile, staged(`${name}.cnb`)));
  for (const p of result.platforms) files.push(await alias(p.stagedCnbFile, staged(`${name}-${platformSlug(p.image.platform)}.cnb`)));
  const digestFile = staged(`${name}-index-digest.sha256`);
  await writeFile(digestFile, `${result.index.digest}\n`);
  files.push(digestFile);
  files.push(await layoutTarball(result.stagingDir, staged(`${name}${LAYOUT_ASSET_SUFFIX}`)));
  return files.map(f => path.join(result.layout, path.basename(f)));
}

/** The same bytes under another name: a hard link, a copy where links are not possible. */
async function alias(source: string, target: string): Promise<string> {
  if (source === target) return target;
  try {
    await link(source, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return target;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw withPath(error, target);
    await copyFile(source, target);
  }
  return target;
}

/** The layout (oci-layout, index.json, blobs) as one reproducible tar. */
async function layoutTarball(dir: string, file: string): Promise<string> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  const file0644 = (name: string, size: number, source: string): TarEntry => ({name, type: 'file', mode: 0o644, mtime: NORMALIZED_MTIME, size, source, format: 'auto'});
  const dirEntry = (name: string): TarEntry => ({name, type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME, format: 'auto'});
  const entries: TarEntry[] = [];
  for (const name of [OCI_LAYOUT_FILE, 'index.json']) entries.push(file0644(name, (await stat(path.join(dir, name))).size, path.join(dir, name)));
  entries.push(dirEntry('blobs'), dirEntry('blobs/sha256'));
  for (const hex of (await readdir(blobs)).filter(n => /^[a-f0-9]{64}$/.test(n)).sort()) {
    entries.push(file0644(`blobs/sha256/${hex}`, (await stat(path.join(blobs, hex))).size, path.join(blobs, hex)));
  }
  try {
    await pipeline(tarStream(entries), createWriteStream(file, {highWaterMark: STREAM_CHUNK}), {signal: cancellation});
  } catch (error) {
    throw withPath(error, file);
  }
  return file;
}
