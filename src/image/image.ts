import type { BuildpackDescriptor } from '../buildpack/descriptor.js';
import type { TreeEntry } from '../buildpack/tree.js';
import { InputError } from '../util/errors.js';
import { sortedRecord } from '../oci/digest.js';
import { writeLayer } from '../oci/layer.js';
import type { BlobStore } from '../oci/store.js';
import { layerMediaType, mediaTypes, type Descriptor, type Format, type ImageConfig, type ImageManifest } from '../oci/types.js';
import type { Platform } from '../platform/platform.js';
import { BUILDPACK_LAYERS_LABEL, BUILDPACKAGE_METADATA_LABEL, buildpackLayers, buildpackageMetadata, layerInfo, type LayerInfo } from './labels.js';
import { buildpackLayerEntries } from './layer.js';

/** One platform's buildpackage image, its blobs already in the store. */
export interface PlatformImage {
  platform: Platform;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  diffIDs: string[];
}

export interface ImageRequest {
  descriptor: BuildpackDescriptor;
  version: string;
  platform: Platform;
  tree: TreeEntry[];
  /** RFC 3339 creation time: fixed, never the wall clock. */
  created: string;
  format: Format;
  /** For a composite: its components' images for this platform, layers already in the store. */
  components?: ComponentImage[];
}

/** A component of a composite, as its image for one platform describes it. */
export interface ComponentImage {
  /** For errors: where it came from. */
  name: string;
  layers: Descriptor[];
  diffIDs: string[];
  /** Its `io.buildpacks.buildpack.layers` label, parsed. */
  layersLabel: Record<string, Record<string, LayerInfo>>;
}

/** Writes the layer, config and manifest of one platform's image into the store. */
export async function writeBuildpackImage(request: ImageRequest, store: BlobStore): Promise<PlatformImage> {
  const { descriptor, version, platform } = request;
  const types = mediaTypes(request.format);
  const layer = await writeLayer(buildpackLayerEntries(request.tree, descriptor.id, version), store, types.layer);
  const components = request.components ?? [];
  // A composite carries its components' layers first, in order, then its own; the layers label
  // lists every buildpack in the image, the composite's own entry holding the order.
  const entries = components.flatMap((c) =>
    Object.entries(c.layersLabel).flatMap(([id, versions]) => Object.entries(versions).map(([v, info]) => ({ id, version: v, info }))),
  );
  entries.push({ id: descriptor.id, version, info: layerInfo(descriptor, platform, layer.diffID) });
  const labels = sortedRecord({
    [BUILDPACKAGE_METADATA_LABEL]: buildpackageMetadata(descriptor, version),
    [BUILDPACK_LAYERS_LABEL]: buildpackLayers(entries),
  });
  const layers: Descriptor[] = [];
  for (const c of components) {
    for (const l of c.layers) {
      const mediaType = layerMediaType(l.mediaType, request.format);
      if (!mediaType) throw new InputError(`${c.name} has a layer of type ${l.mediaType}, which a ${request.format} image cannot carry; use format: oci or republish the component.`);
      layers.push({ mediaType, digest: l.digest, size: l.size });
    }
  }
  layers.push(layer.descriptor);
  const diffIDs = [...components.flatMap((c) => c.diffIDs), layer.diffID];
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: request.created,
    config: { Labels: labels },
    rootfs: { type: 'layers', diff_ids: diffIDs },
  };
  const configBlob = await store.writeJson(types.config, config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: configBlob.descriptor,
    layers,
  };
  const manifestBlob = await store.writeJson(types.manifest, manifest);
  return {
    platform,
    manifest: manifestBlob.descriptor,
    config: configBlob.descriptor,
    layers,
    diffIDs,
  };
}

/** SOURCE_DATE_EPOCH when set (reproducible-builds.org), else pack's 1980-01-01T00:00:01Z. */
export function creationTime(env: NodeJS.ProcessEnv): string {
  const epoch = env.SOURCE_DATE_EPOCH?.trim();
  if (!epoch) return '1980-01-01T00:00:01Z';
  if (!/^\d{1,11}$/.test(epoch)) {
    throw new InputError(`SOURCE_DATE_EPOCH is "${epoch}", which is not a number of seconds since 1970; set it to an integer such as $(git log -1 --format=%ct) or unset it.`);
  }
  return new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
}
