import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from './digest.js';
import { MediaType, type Descriptor } from './types.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_LAYOUT = { imageLayoutVersion: '1.0.0' };
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** The top-level index.json of a layout: one descriptor, optionally named (`oci:<dir>:<name>`). */
export function layoutIndex(descriptor: Descriptor, refName?: string): Buffer {
  return canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.ImageIndex,
    manifests: [
      {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        ...(refName ? { annotations: { [REF_NAME_ANNOTATION]: refName } } : {}),
      },
    ],
  });
}

/** Writes `oci-layout` and `index.json` into a directory whose blobs are already in place. */
export async function writeLayoutFiles(dir: string, descriptor: Descriptor, refName?: string): Promise<void> {
  await writeFile(path.join(dir, OCI_LAYOUT_FILE), canonicalJson(OCI_LAYOUT));
  await writeFile(path.join(dir, 'index.json'), layoutIndex(descriptor, refName));
}
