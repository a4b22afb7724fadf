import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { STREAM_CHUNK } from '../oci/gzip.js';
import { sha256Digest } from '../oci/digest.js';
import type { BlobStore } from '../oci/store.js';
import { MediaType, type Descriptor, type ImageConfig } from '../oci/types.js';
import { formatPlatform, type Platform } from '../platform/platform.js';
import { InputError } from '../util/errors.js';
import { Digester } from '../util/hash.js';
import { header, type RegistryClient } from './client.js';
import type { HttpResponse } from './http.js';
import { getManifest } from './push.js';
import { formatReference, type Reference } from './reference.js';

const MANIFEST_TYPES = [MediaType.ImageIndex, MediaType.DockerManifestList, MediaType.ImageManifest, MediaType.DockerManifest];

/** One platform's image in a registry, with its config read and checked. */
export interface RemoteImage {
  ref: Reference;
  manifest: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
}

interface ManifestJson {
  mediaType?: string;
  manifests?: (Descriptor & { platform?: { os?: string; architecture?: string; variant?: string } })[];
  config?: Descriptor;
  layers?: Descriptor[];
}

/**
 * Resolves a reference (tag or digest) to its image for `platform`: from an index, the entry
 * with that platform (attestation entries are not platforms); a single image counts only when
 * its config says that platform. Undefined when the reference has no image for the platform.
 */
export async function resolvePlatformImage(client: RegistryClient, ref: Reference, platform: Platform): Promise<RemoteImage | undefined> {
  const reference = ref.digest ?? (ref.tag as string);
  const top = await getManifest(client, ref.repository, reference, MANIFEST_TYPES);
  if (!top) throw new InputError(`${formatReference(ref)} does not exist; check the reference, or publish it first.`);
  if (ref.digest && sha256Digest(top) !== ref.digest) throw new InputError(`${formatReference(ref)} answered content with another digest; the registry cannot be trusted for it.`);
  let json = JSON.parse(top.toString('utf8')) as ManifestJson;
  let descriptor: Descriptor = { mediaType: json.mediaType ?? MediaType.ImageManifest, digest: sha256Digest(top), size: top.length };
  if (json.manifests) {
    const entry = json.manifests.find(
      (m) => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture && normaliseVariant(m.platform, platform) === (platform.variant ?? ''),
    );
    if (!entry) return undefined;
    const bytes = await getManifest(client, ref.repository, entry.digest, [entry.mediaType]);
    if (!bytes || sha256Digest(bytes) !== entry.digest) throw new InputError(`${formatReference(ref)} lists ${entry.digest} for ${formatPlatform(platform)}, but the registry does not serve it intact; check the image.`);
    json = JSON.parse(bytes.toString('utf8')) as ManifestJson;
    descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: bytes.length };
  }
  if (!json.config || !json.layers) throw new InputError(`${formatReference(ref)} is not an image manifest or index; check the reference.`);
  const config = JSON.parse((await readBlob(client, ref.repository, json.config)).toString('utf8')) as ImageConfig & { variant?: string };
  if (config.os !== platform.os || config.architecture !== platform.architecture || (config.variant ?? '') !== (platform.variant ?? '')) return undefined;
  return { ref, manifest: descriptor, config, layers: json.layers };
}

function normaliseVariant(p: { architecture?: string; variant?: string }, want: Platform): string {
  // arm64 images sometimes say v8; OCI omits it.
  if (p.architecture === 'arm64' && p.variant === 'v8' && !want.variant) return '';
  return p.variant ?? '';
}

/** GETs a blob, following a redirect to storage without credentials. */
async function getBlob(client: RegistryClient, repository: string, blob: Descriptor, consumeBody?: (body: Readable) => Promise<void>): Promise<HttpResponse> {
  let url = client.url(`/v2/${repository}/blobs/${blob.digest}`);
  for (let hop = 0; hop < 5; hop++) {
    const response = await client.request('GET', url, { repository, action: 'pull', ...(consumeBody ? { consumeBody } : {}) });
    const location = header(response, 'location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, response.url);
      continue;
    }
    if (response.status !== 200) throw new InputError(`The registry ${client.registry} did not return blob ${blob.digest} of ${repository} (HTTP ${response.status}); check the image.`);
    return response;
  }
  throw new InputError(`The registry ${client.registry} redirected blob ${blob.digest} of ${repository} too often; check the registry.`);
}

/** A small blob (a config), checked against its digest. */
export async function readBlob(client: RegistryClient, repository: string, blob: Descriptor): Promise<Buffer> {
  const { body } = await getBlob(client, repository, blob);
  if (sha256Digest(body) !== blob.digest) throw new InputError(`Blob ${blob.digest} of ${repository} arrived with another digest; the registry or a proxy altered it.`);
  return body;
}

/** A layer, hashed while it streams to the store's disk (never held), and kept only if intact. */
export async function downloadBlob(client: RegistryClient, repository: string, blob: Descriptor, store: BlobStore): Promise<void> {
  if (await store.has(blob.digest)) return;
  const temp = await store.tempPath();
  let digester = new Digester();
  try {
    // A retried GET starts over: a fresh hash, and the file truncated.
    await getBlob(client, repository, blob, (body) => {
      digester = new Digester();
      return pipeline(body, digester, createWriteStream(temp, { highWaterMark: STREAM_CHUNK }));
    });
    const digest = digester.digest();
    if (digest !== blob.digest) throw new InputError(`Blob ${blob.digest} of ${repository} arrived as ${digest}; the registry or a proxy altered it.`);
    await store.commit(temp, blob.digest);
  } catch (error) {
    await store.discard(temp);
    throw error;
  }
}
