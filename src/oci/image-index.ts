import {sortedRecord} from './digest.js';
import type {Descriptor, ImageIndex, OciPlatform} from './types.js';

export interface IndexEntry {
  manifest: Descriptor;
  platform: OciPlatform;
  annotations?: Record<string, string>;
}

/**
 * An OCI image index over per-platform manifests, in the order given (callers sort platforms).
 * Each descriptor carries its platform; annotations are written with sorted keys.
 */
export function imageIndex(mediaType: string, entries: IndexEntry[], annotations: Record<string, string>): ImageIndex {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: entries.map(e => ({
      mediaType: e.manifest.mediaType,
      digest: e.manifest.digest,
      size: e.manifest.size,
      platform: {
        architecture: e.platform.architecture,
        os: e.platform.os,
        ...(e.platform.variant ? {variant: e.platform.variant} : {})
      },
      ...(e.annotations && Object.keys(e.annotations).length ? {annotations: sortedRecord(e.annotations)} : {})
    }))
  };
  if (Object.keys(annotations).length) index.annotations = sortedRecord(annotations);
  return index;
}
