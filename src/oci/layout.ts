import {writeFile} from 'node:fs/promises';
import path from 'node:path';
import {canonicalJson} from './digest.js';
import {MediaType, type Descriptor} from './types.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_LAYOUT = {imageLayoutVersion: '1.0.0'};
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** An entry of a layout's index.json: a descriptor, optionally named (`oci:<dir>:<name>`). */
export interface LayoutEntry {
  descriptor: Descriptor;
  refName?: string;
  /** More annotations of the entry. */
  annotations?: Record<string, string>;
}

/**
 * Marks an index.json entry that is only another view of a Docker manifest list (named by its
 * digest): an OCI image index over the same platform manifests, for tools that read only OCI
 * types from a layout.
 */
export const VIEW_OF_ANNOTATION = 'io.paketo.multiarch-buildpack-action.view-of';

/** Marks an index.json entry that is an artifact about a platform manifest (named by its digest): an SBOM. */
export const SUBJECT_ANNOTATION = 'io.paketo.multiarch-buildpack-action.subject';

/** The top-level index.json of a layout. */
export function layoutIndex(descriptor: Descriptor, refName?: string): Buffer {
  return layoutIndexOf([{descriptor, refName}]);
}

export function layoutIndexOf(entries: LayoutEntry[]): Buffer {
  return canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.ImageIndex,
    manifests: entries.map(e => {
      const annotations = {...(e.refName ? {[REF_NAME_ANNOTATION]: e.refName} : {}), ...e.annotations};
      return {
        mediaType: e.descriptor.mediaType,
        digest: e.descriptor.digest,
        size: e.descriptor.size,
        ...(e.descriptor.artifactType ? {artifactType: e.descriptor.artifactType} : {}),
        ...(Object.keys(annotations).length ? {annotations} : {})
      };
    })
  });
}

/** Writes `oci-layout` and `index.json` into a directory whose blobs are already in place. */
export async function writeLayoutFiles(dir: string, entries: LayoutEntry[]): Promise<void> {
  await writeFile(path.join(dir, OCI_LAYOUT_FILE), canonicalJson(OCI_LAYOUT));
  await writeFile(path.join(dir, 'index.json'), layoutIndexOf(entries));
}
