import {createWriteStream} from 'node:fs';
import {rename, rm} from 'node:fs/promises';
import {pipeline} from 'node:stream/promises';
import {canonicalJson, digestHex} from '../oci/digest.js';
import {STREAM_CHUNK} from '../oci/gzip.js';
import {OCI_LAYOUT, OCI_LAYOUT_FILE, layoutIndex} from '../oci/layout.js';
import type {BlobStore} from '../oci/store.js';
import {tarStream, type TarEntry} from '../oci/tar.js';
import {platformSlug} from '../platform/platform.js';
import {escapedId} from '../buildpack/descriptor.js';
import type {PlatformImage} from './image.js';
import {NORMALIZED_MTIME} from './layer-entries.js';
import {cancellation} from '../util/cancel.js';
import {withPath} from '../util/errors.js';

/** pack's file name for one target: `<name>-<os>-<arch>[-<variant>].cnb`. */
export function cnbFileName(id: string, version: string, image: PlatformImage): string {
  return `${escapedId(id)}-${version}-${platformSlug(image.platform)}.cnb`;
}

/**
 * Writes one platform's image as a `.cnb`: an uncompressed tar of an OCI layout holding exactly
 * that image (pack reads only the first manifest of index.json), blobs streamed from the store.
 */
export async function writeCnb(file: string, image: PlatformImage, store: BlobStore): Promise<void> {
  const file0644 = (name: string, content: Buffer): TarEntry => ({name, type: 'file', mode: 0o644, mtime: NORMALIZED_MTIME, content, size: content.length});
  const blobs = [image.config, ...image.layers, image.manifest].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const entries: TarEntry[] = [
    file0644(OCI_LAYOUT_FILE, canonicalJson(OCI_LAYOUT)),
    file0644('index.json', layoutIndex(image.manifest)),
    {name: 'blobs', type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME},
    {name: 'blobs/sha256', type: 'directory', mode: 0o755, mtime: NORMALIZED_MTIME},
    ...blobs
      .filter((b, i) => i === 0 || b.digest !== blobs[i - 1].digest)
      .map((b): TarEntry => ({
        name: `blobs/sha256/${digestHex(b.digest)}`,
        type: 'file',
        mode: 0o644,
        mtime: NORMALIZED_MTIME,
        size: b.size,
        source: store.blobPath(b.digest)
      }))
  ];
  const partial = `${file}.partial`;
  try {
    await pipeline(tarStream(entries), createWriteStream(partial, {highWaterMark: STREAM_CHUNK}), {signal: cancellation});
    await rename(partial, file);
  } catch (error) {
    await rm(partial, {force: true});
    throw withPath(error, partial);
  }
}
