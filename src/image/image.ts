import type {BuildpackDescriptor} from '../buildpack/descriptor.js';
import type {TreeEntry} from '../buildpack/tree.js';
import {UserError} from '../util/errors.js';
import {sortedRecord} from '../oci/digest.js';
import {writeLayer} from '../oci/layer-writer.js';
import type {BlobStore} from '../oci/store.js';
import {layerMediaType, mediaTypes, type Descriptor, type Format, type ImageConfig, type ImageManifest} from '../oci/types.js';
import type {Platform} from '../platform/platform.js';
import {BUILDPACK_LAYERS_LABEL, BUILDPACKAGE_METADATA_LABEL, EXTENSION_LAYERS_LABEL, buildpackageMetadata, layerInfo, layersLabel, resolvedStacks, type LayerInfo} from './labels.js';
import {moduleLayerEntries} from './layer-entries.js';
import type {FileInspector} from '../oci/tar.js';

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
  /** The manifest's own annotations (the input's `manifest:` items for this platform). */
  annotations?: Record<string, string>;
  /** Shown each file's first bytes as the layer is written (the packager's binary check). */
  inspect?: FileInspector;
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
  const {descriptor, version, platform} = request;
  const types = mediaTypes(request.format);
  const layer = await writeLayer(moduleLayerEntries(request.tree, descriptor.kind, descriptor.id, version), store, types.layer, {inspect: request.inspect});
  // A composite carries its components' layers first, in order, then its own; a layer that two
  // components share (a buildpack reached twice) is carried once, as pack collects modules by
  // id and version.
  const layers: Descriptor[] = [];
  const diffIDs: string[] = [];
  for (const c of request.components ?? []) {
    for (const [i, l] of c.layers.entries()) {
      const diffID = c.diffIDs[i];
      if (diffID === undefined) throw new UserError(`${c.name} lists more layers than its config has diff_ids; the image is damaged, so republish it.`);
      if (diffIDs.includes(diffID)) continue;
      const mediaType = layerMediaType(l.mediaType, request.format);
      if (!mediaType) throw new UserError(`${c.name} has a layer of type ${l.mediaType}, which a ${request.format} image cannot carry; use format: oci or republish the component.`);
      layers.push({mediaType, digest: l.digest, size: l.size});
      diffIDs.push(diffID);
    }
  }
  layers.push(layer.descriptor);
  diffIDs.push(layer.diffID);
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? {variant: platform.variant} : {}),
    created: request.created,
    config: {Labels: imageLabels(request, layer.diffID)},
    rootfs: {type: 'layers', diff_ids: diffIDs}
  };
  const configBlob = await store.writeJson(types.config, config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: configBlob.descriptor,
    layers,
    ...manifestAnnotations(request.annotations)
  };
  const manifestBlob = await store.writeJson(types.manifest, manifest);
  return {
    platform,
    manifest: manifestBlob.descriptor,
    config: configBlob.descriptor,
    layers,
    diffIDs
  };
}

/** `annotations` for a manifest, keys sorted, or nothing at all: pack writes none. */
export function manifestAnnotations(annotations: Record<string, string> | undefined): {annotations?: Record<string, string>} {
  return annotations && Object.keys(annotations).length ? {annotations: sortedRecord(annotations)} : {};
}

/**
 * The labels pack writes: for a buildpack, the package's metadata with the stacks it runs on and
 * every module's layer entry (the components' as their images list them, then its own); for an
 * image extension, its metadata (`"stacks":null`) and `io.buildpacks.extension.layers`.
 */
function imageLabels(request: ImageRequest, diffID: string): Record<string, string> {
  const {descriptor, version} = request;
  const own = {id: descriptor.id, version, info: layerInfo(descriptor, diffID)};
  if (descriptor.kind === 'extension') {
    return sortedRecord({
      [BUILDPACKAGE_METADATA_LABEL]: buildpackageMetadata(descriptor, version, null),
      [EXTENSION_LAYERS_LABEL]: layersLabel([own])
    });
  }
  const modules = (request.components ?? []).flatMap(c => Object.entries(c.layersLabel).flatMap(([id, versions]) => Object.entries(versions).map(([v, info]) => ({id, version: v, info}))));
  const entries = [...modules.filter(m => !(m.id === own.id && m.version === own.version)), own];
  return sortedRecord({
    [BUILDPACKAGE_METADATA_LABEL]: buildpackageMetadata(
      descriptor,
      version,
      resolvedStacks(
        own.info,
        modules.map(m => m.info)
      )
    ),
    [BUILDPACK_LAYERS_LABEL]: layersLabel(entries)
  });
}

/** SOURCE_DATE_EPOCH when set (reproducible-builds.org), else pack's 1980-01-01T00:00:01Z. */
export function creationTime(env: NodeJS.ProcessEnv): string {
  const epoch = env.SOURCE_DATE_EPOCH?.trim();
  if (!epoch) return '1980-01-01T00:00:01Z';
  if (!/^\d{1,11}$/.test(epoch)) {
    throw new UserError(`SOURCE_DATE_EPOCH is "${epoch}", which is not a number of seconds since 1970; set it to an integer such as $(git log -1 --format=%ct) or unset it.`);
  }
  return new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
}
