import {sha256Digest} from '../oci/digest.js';
import {MediaType, type Descriptor, type ImageConfig} from '../oci/types.js';
import {formatPlatform, type Platform} from '../platform/platform.js';
import {readBlob} from './blobs.js';
import type {RegistryClient} from './client.js';
import {RegistryError} from './errors.js';
import {getManifest} from './manifests.js';
import {formatReference, type Reference} from './reference.js';

export const MANIFEST_TYPES = [MediaType.ImageIndex, MediaType.DockerManifestList, MediaType.ImageManifest, MediaType.DockerManifest];

/** One platform's image in a registry, its manifest and config read and checked against their digests. */
export interface RemoteImage {
  ref: Reference;
  manifest: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
}

interface ManifestJson {
  mediaType?: unknown;
  manifests?: unknown;
  config?: unknown;
  layers?: unknown;
}

type PlatformDescriptor = Descriptor & {platform?: {os?: string; architecture?: string; variant?: string}};

/**
 * Resolves a reference (tag or digest) to its image for `platform`: from an index, the entry
 * with that platform (attestation entries are not platforms); a single image counts only when
 * its config says that platform. Undefined when the reference has no image for the platform.
 */
export async function resolvePlatformImage(client: RegistryClient, ref: Reference, platform: Platform): Promise<RemoteImage | undefined> {
  const name = formatReference(ref);
  const top = await getManifest(client, ref.repository, ref.digest ?? (ref.tag as string), MANIFEST_TYPES);
  if (!top) throw new RegistryError('status', `${name} does not exist`, {registry: client.registry, repository: ref.repository, status: 404});
  let json = parseManifest(top, name, client);
  let descriptor: Descriptor = {mediaType: typeof json.mediaType === 'string' ? json.mediaType : MediaType.ImageManifest, digest: sha256Digest(top), size: top.length};
  if (json.manifests !== undefined) {
    const entries = descriptors(json.manifests, name, client) as PlatformDescriptor[];
    const entry = entries.find(m => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture && normaliseVariant(m.platform, platform) === (platform.variant ?? ''));
    if (!entry) return undefined;
    const bytes = await getManifest(client, ref.repository, entry.digest, [entry.mediaType]);
    if (!bytes) throw new RegistryError('status', `${name} lists ${entry.digest} for ${formatPlatform(platform)}, which ${client.registry} does not serve`, {registry: client.registry, repository: ref.repository, status: 404});
    json = parseManifest(bytes, name, client);
    descriptor = {mediaType: entry.mediaType, digest: entry.digest, size: bytes.length};
  }
  const image = await readImageParts(client, ref.repository, json, name);
  if (image.config.os !== platform.os || image.config.architecture !== platform.architecture || (image.config.variant ?? '') !== (platform.variant ?? '')) return undefined;
  return {ref, manifest: descriptor, ...image};
}

/**
 * An image manifest fetched by digest (checked against it) with its config (checked against
 * its digest and size): the image exactly as it was pushed.
 */
export async function readImage(client: RegistryClient, repository: string, manifest: Descriptor): Promise<{config: ImageConfig; layers: Descriptor[]}> {
  const name = `${client.registry}/${repository}@${manifest.digest}`;
  const bytes = await getManifest(client, repository, manifest.digest, [manifest.mediaType]);
  if (!bytes) throw new RegistryError('status', `${name} does not exist`, {registry: client.registry, repository, status: 404});
  return readImageParts(client, repository, parseManifest(bytes, name, client), name);
}

async function readImageParts(client: RegistryClient, repository: string, json: ManifestJson, name: string): Promise<{config: ImageConfig; layers: Descriptor[]}> {
  if (json.config === undefined || json.layers === undefined) throw new RegistryError('malformed', `${name} is not an image manifest or index`, {registry: client.registry, repository});
  const [configDescriptor] = descriptors([json.config], name, client);
  const layers = descriptors(json.layers, name, client);
  const bytes = await readBlob(client, repository, configDescriptor);
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    if (!config || typeof config !== 'object') throw new Error('not an object');
  } catch (error) {
    throw new RegistryError('malformed', `The config of ${name} is not JSON`, {registry: client.registry, repository}, {cause: error});
  }
  return {config, layers};
}

function parseManifest(bytes: Buffer, name: string, client: RegistryClient): ManifestJson {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as unknown;
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('not an object');
    return json;
  } catch (error) {
    throw new RegistryError('malformed', `${name} answered a manifest that is not JSON`, {registry: client.registry}, {cause: error});
  }
}

/** Descriptors as the spec has them: a media type, a sha256 digest and a size; anything else is refused. */
function descriptors(value: unknown, name: string, client: RegistryClient): Descriptor[] {
  const bad = (): RegistryError => new RegistryError('malformed', `${name} holds a descriptor that is not one (mediaType, sha256 digest, size)`, {registry: client.registry});
  if (!Array.isArray(value) || value.length > 10_000) throw bad();
  return value.map((d: unknown) => {
    const x = d as Partial<Descriptor>;
    if (!x || typeof x.mediaType !== 'string' || typeof x.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(x.digest) || typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0) throw bad();
    return x as Descriptor;
  });
}

function normaliseVariant(p: {architecture?: string; variant?: string}, want: Platform): string {
  // arm64 images sometimes say v8; OCI omits it.
  if (p.architecture === 'arm64' && p.variant === 'v8' && !want.variant) return '';
  return p.variant ?? '';
}
