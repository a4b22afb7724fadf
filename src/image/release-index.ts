import {annotationsAt} from '../inputs/annotations.js';
import {imageIndex} from '../oci/image-index.js';
import {mediaTypes, type Descriptor, type ImageIndex} from '../oci/types.js';
import type {ReleasePlan} from '../plan/plan.js';
import type {Platform} from '../platform/platform.js';

export const EXPERIMENTAL_ANNOTATION = 'io.paketo.experimental';

/** One platform of the release, as the index lists it. */
export interface IndexedPlatform {
  manifest: Descriptor;
  platform: Platform;
  experimental: boolean;
}

/**
 * The release's image index over its platform manifests (in plan order): the plan's index
 * annotations, and on each entry the input's manifest-descriptor annotations and
 * `io.paketo.experimental` for an experimental platform. The one place an index is made, so
 * mode: merge writes byte for byte what mode: all writes for the same inputs.
 */
export function releaseIndex(plan: Pick<ReleasePlan, 'format' | 'annotations' | 'annotationSet'>, platforms: IndexedPlatform[]): ImageIndex {
  return imageIndex(
    mediaTypes(plan.format).index,
    platforms.map(p => ({
      manifest: p.manifest,
      platform: p.platform,
      annotations: {...annotationsAt(plan.annotationSet, 'manifest-descriptor', p.platform), ...(p.experimental ? {[EXPERIMENTAL_ANNOTATION]: 'true'} : {})}
    })),
    plan.annotations
  );
}
