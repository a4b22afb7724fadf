import type { BuildpackDescriptor } from '../buildpack/descriptor.js';
import type { TreeEntry } from '../buildpack/tree.js';
import { InputError } from '../util/errors.js';
import { sortedRecord } from '../oci/digest.js';
import { writeLayer } from '../oci/layer.js';
import type { BlobStore } from '../oci/store.js';
import { mediaTypes, type Descriptor, type Format, type ImageConfig, type ImageManifest } from '../oci/types.js';
import type { Platform } from '../platform/platform.js';
import { BUILDPACK_LAYERS_LABEL, BUILDPACKAGE_METADATA_LABEL, buildpackLayers, buildpackageMetadata, layerInfo } from './labels.js';
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
}

/** Writes the layer, config and manifest of one platform's image into the store. */
export async function writeBuildpackImage(request: ImageRequest, store: BlobStore): Promise<PlatformImage> {
  const { descriptor, version, platform } = request;
  const types = mediaTypes(request.format);
  const layer = await writeLayer(buildpackLayerEntries(request.tree, descriptor.id, version), store, types.layer);
  const labels = sortedRecord({
    [BUILDPACKAGE_METADATA_LABEL]: buildpackageMetadata(descriptor, version),
    [BUILDPACK_LAYERS_LABEL]: buildpackLayers([{ id: descriptor.id, version, info: layerInfo(descriptor, platform, layer.diffID) }]),
  });
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: request.created,
    config: { Labels: labels },
    rootfs: { type: 'layers', diff_ids: [layer.diffID] },
  };
  const configBlob = await store.writeJson(types.config, config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: configBlob.descriptor,
    layers: [layer.descriptor],
  };
  const manifestBlob = await store.writeJson(types.manifest, manifest);
  return {
    platform,
    manifest: manifestBlob.descriptor,
    config: configBlob.descriptor,
    layers: [layer.descriptor],
    diffIDs: [layer.diffID],
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
