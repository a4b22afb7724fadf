import {createReadStream} from 'node:fs';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import path from 'node:path';
import {sha256Digest} from '../oci/digest.js';
import type {BlobStore} from '../oci/store.js';
import {layerMediaType, mediaTypes, type Descriptor, type Format, type ImageConfig} from '../oci/types.js';
import {formatPlatform, type Platform} from '../platform/platform.js';
import {extractArchive, isLayoutEntry} from '../util/archive.js';
import {UserError} from '../util/errors.js';
import {hashFile} from '../util/hash.js';
import {manifestAnnotations, type PlatformImage} from './image.js';
import {BUILDPACKAGE_METADATA_LABEL, BUILDPACK_LAYERS_LABEL} from './labels.js';
import * as log from '../util/log.js';

/**
 * Imports one platform's image from a `.cnb` written by pack, whatever its quirks: entry names
 * with a leading `/`, Docker media types, and a config whose architecture is missing, empty or
 * wrong (pack wrote amd64 for every target, later ""). The config gets the platform it was
 * built for, the manifest the chosen format (and the given annotations); the layers keep their
 * exact bytes and diffIDs.
 */
export async function importCnb(file: string, platform: Platform, format: Format, store: BlobStore, scratch: string, annotations?: Record<string, string>): Promise<PlatformImage> {
  const dir = await mkdtemp(path.join(scratch, 'cnb-'));
  try {
    await extractArchive(createReadStream(file), dir, {archive: file, leadingSlashAllowed: isLayoutEntry});
    const readBlob = async (descriptor: {digest: string; size?: number}, what: string): Promise<Buffer> => {
      const hex = /^sha256:([a-f0-9]{64})$/.exec(descriptor.digest)?.[1];
      const bytes = hex ? await readFile(path.join(dir, 'blobs', 'sha256', hex)).catch(() => undefined) : undefined;
      if (!bytes || sha256Digest(bytes) !== descriptor.digest) {
        throw new UserError(`${file} has no intact ${what} ${descriptor.digest}; the .cnb is damaged, so run pack again.`);
      }
      return bytes;
    };
    const index = parseJson<{manifests?: Descriptor[]}>(await readFile(path.join(dir, 'index.json')).catch(() => undefined), file, 'index.json');
    const first = index.manifests?.[0];
    if (!first) throw new UserError(`${file} lists no image in index.json; check the pack output.`);
    const manifest = parseJson<{config: Descriptor; layers: Descriptor[]}>(await readBlob(first, 'manifest'), file, 'its manifest');
    const config = parseJson<ImageConfig & {variant?: string}>(await readBlob(manifest.config, 'config'), file, 'its config');
    if (!config.config?.Labels?.[BUILDPACKAGE_METADATA_LABEL] || !config.config.Labels[BUILDPACK_LAYERS_LABEL]) {
      throw new UserError(`${file} lacks the ${BUILDPACKAGE_METADATA_LABEL} and ${BUILDPACK_LAYERS_LABEL} labels, so it is not a buildpackage; check the pack command.`);
    }
    const claimed = formatPlatform({os: config.os ?? '', architecture: config.architecture ?? '', variant: config.variant}) || 'no platform';
    if (config.os !== platform.os || config.architecture !== platform.architecture || (config.variant ?? '') !== (platform.variant ?? '')) {
      log.info(`${path.basename(file)}: pack wrote ${claimed} in the config; corrected to ${formatPlatform(platform)}, which it was built for.`);
    }
    config.os = platform.os;
    config.architecture = platform.architecture;
    if (platform.variant) config.variant = platform.variant;
    else delete config.variant;

    const types = mediaTypes(format);
    const layers: Descriptor[] = [];
    for (const layer of manifest.layers) {
      // Layers can be hundreds of megabytes: hashed while streamed, then copied, never held.
      const source = path.join(dir, 'blobs', 'sha256', layer.digest.replace(/^sha256:/, ''));
      const listed = layers.find(l => l.digest === layer.digest);
      if (listed) {
        layers.push(listed); // the same layer twice: already verified and moved into the store
        continue;
      }
      const seen = await hashFile(source).catch(() => undefined);
      if (!seen || seen.digest !== layer.digest) throw new UserError(`${file} has no intact layer ${layer.digest}; the .cnb is damaged, so run pack again.`);
      await store.importFile(layer.digest, source);
      const gzip = seen.head[0] === 0x1f && seen.head[1] === 0x8b;
      layers.push({mediaType: (gzip ? types.layer : layerMediaType('application/vnd.oci.image.layer.v1.tar', format)) as string, digest: layer.digest, size: seen.size});
    }
    const configBlob = await store.writeJson(types.config, config);
    const manifestBlob = await store.writeJson(types.manifest, {schemaVersion: 2, mediaType: types.manifest, config: configBlob.descriptor, layers, ...manifestAnnotations(annotations)});
    return {platform, manifest: manifestBlob.descriptor, config: configBlob.descriptor, layers, diffIDs: config.rootfs?.diff_ids ?? []};
  } finally {
    await rm(dir, {recursive: true, force: true});
  }
}

function parseJson<T>(bytes: Buffer | undefined, file: string, what: string): T {
  if (!bytes) throw new UserError(`${file} has no ${what}; it is not an OCI layout archive, so check the pack output.`);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new UserError(`${file} has a ${what} that is not JSON; the .cnb is damaged, so run pack again.`);
  }
}
