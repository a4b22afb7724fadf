import * as core from '@actions/core';
import type { Readable } from 'node:stream';
import { InputError } from '../util/errors.js';
import { sha256Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import { errorCodes } from './challenge.js';
import { header, type RegistryClient } from './client.js';
import { retryStats, type HttpResponse } from './http.js';

/** Where a blob came from in this run, for the statistics and the log. */
export type BlobOutcome = 'existing' | 'mounted' | 'uploaded';

function fail(client: RegistryClient, what: string, response: HttpResponse): Error {
  const codes = errorCodes(response.body);
  const detail = codes.length ? `: ${codes.map((c) => `${c.code} ${c.message}`.trim()).join('; ')}` : '';
  return new InputError(`The registry ${client.registry} refused to ${what} (HTTP ${response.status}${detail}); check the registry's logs or try again.`);
}

/** HEAD a blob: 200 (or a redirect to storage) means present. */
export async function blobExists(client: RegistryClient, repository: string, digest: string): Promise<boolean> {
  const response = await client.request('HEAD', client.url(`/v2/${repository}/blobs/${digest}`), { repository, action: 'pull' });
  if (response.status === 200 || (response.status >= 300 && response.status < 400)) return true;
  if (response.status === 404) return false;
  throw fail(client, `say whether ${repository} has blob ${digest}`, response);
}

/**
 * Asks the registry to mount a blob from another repository it holds. Returns true when
 * mounted; false when the registry declined (any 202 or 4xx: Harbor, Docker Hub and Quay
 * differ), in which case the caller uploads.
 */
export async function mountBlob(client: RegistryClient, repository: string, digest: string, from: string): Promise<boolean> {
  const url = client.url(`/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`);
  try {
    const response = await client.request('POST', url, { repository, action: 'push', extraScopes: [`repository:${from}:pull`] });
    if (response.status === 201) return true;
    if (response.status === 202) await cancelUpload(client, repository, response);
    return false;
  } catch (error) {
    // A registry that refuses the mount scope or the mount itself still takes an upload.
    if (error instanceof InputError && /insufficient_scope|HTTP 40\d/.test(error.message)) return false;
    throw error;
  }
}

async function cancelUpload(client: RegistryClient, repository: string, response: HttpResponse): Promise<void> {
  const location = header(response, 'location');
  if (!location) return;
  await client.request('DELETE', new URL(location, response.url), { repository, action: 'push' }).catch(() => undefined);
}

/** Opens an upload session; returns its Location resolved against the request URL. */
async function startUpload(client: RegistryClient, repository: string): Promise<URL> {
  const response = await client.request('POST', client.url(`/v2/${repository}/blobs/uploads/`), { repository, action: 'push' });
  const location = header(response, 'location');
  if (response.status !== 202 || !location) throw fail(client, `start an upload to ${repository}`, response);
  return new URL(location, response.url);
}

/** Appends `digest=` to the raw query: URLSearchParams would re-encode opaque state parameters. */
export function withDigest(location: URL, digest: string): URL {
  const href = location.href.replace(/#.*$/, '');
  return new URL(`${href}${location.search ? '&' : '?'}digest=${encodeURIComponent(digest)}`);
}

const CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Uploads a blob monolithically (POST, then PUT of the whole stream with its digest). After a
 * 413 from a proxy in front of the registry, uploads it in chunks instead.
 */
export async function uploadBlob(client: RegistryClient, repository: string, blob: Descriptor, open: (start?: number, end?: number) => Readable): Promise<void> {
  for (let session = 1; ; session++) {
    const location = await startUpload(client, repository);
    const response = await client.request('PUT', withDigest(location, blob.digest), {
      repository,
      action: 'push',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: () => open(),
      contentLength: blob.size,
    });
    if (response.status === 413) return uploadChunked(client, repository, blob, open, Number(header(response, 'oci-chunk-min-length') ?? 0));
    if ([200, 201, 202, 204].includes(response.status)) {
      checkDigestHeader(client, response, blob.digest, `blob in ${repository}`);
      return;
    }
    // A retried PUT can find its session gone: the registry finished it before the connection
    // broke, or let it expire. If the blob is there, done; else start a fresh session.
    if (await blobExists(client, repository, blob.digest)) return;
    if (session >= UPLOAD_SESSIONS || ![400, 404, 416].includes(response.status)) throw fail(client, `accept blob ${blob.digest} in ${repository}`, response);
    core.debug(`${repository}: upload of ${blob.digest} answered HTTP ${response.status}; starting a new upload session`);
    retryStats.retries++;
  }
}

/** How many upload sessions one blob may take before its failure is final. */
const UPLOAD_SESSIONS = 3;

async function uploadChunked(client: RegistryClient, repository: string, blob: Descriptor, open: (start?: number, end?: number) => Readable, minimum: number): Promise<void> {
  let location = await startUpload(client, repository);
  const chunk = Math.max(CHUNK_BYTES, minimum);
  for (let start = 0; start < blob.size; start += chunk) {
    const end = Math.min(blob.size, start + chunk) - 1;
    const response = await client.request('PATCH', location, {
      repository,
      action: 'push',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end}` },
      body: () => open(start, end),
      contentLength: end - start + 1,
    });
    const next = header(response, 'location');
    if (response.status !== 202 || !next) throw fail(client, `accept a chunk of blob ${blob.digest} in ${repository}`, response);
    location = new URL(next, response.url);
  }
  const done = await client.request('PUT', withDigest(location, blob.digest), { repository, action: 'push' });
  if (![200, 201, 202, 204].includes(done.status)) throw fail(client, `complete blob ${blob.digest} in ${repository}`, done);
}

export async function manifestExists(client: RegistryClient, repository: string, descriptor: Descriptor): Promise<boolean> {
  const response = await client.request('HEAD', client.url(`/v2/${repository}/manifests/${descriptor.digest}`), {
    repository,
    action: 'pull',
    headers: { Accept: descriptor.mediaType },
  });
  if (response.status === 200) return true;
  if (response.status === 404) return false;
  throw fail(client, `say whether ${repository} has manifest ${descriptor.digest}`, response);
}

/** PUTs manifest bytes under a digest or a tag; Content-Type is the body's own mediaType. */
export async function putManifest(client: RegistryClient, repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<void> {
  const response = await client.request('PUT', client.url(`/v2/${repository}/manifests/${reference}`), {
    repository,
    action: 'push',
    headers: { 'Content-Type': mediaType },
    body: bytes,
  });
  if (response.status !== 201 && response.status !== 200) throw fail(client, `store the manifest ${reference} in ${repository}`, response);
  checkDigestHeader(client, response, sha256Digest(bytes), `manifest ${reference} in ${repository}`);
}

/** GETs what a tag or digest points at: the exact bytes, for verification. */
export async function getManifest(client: RegistryClient, repository: string, reference: string, accept: string[]): Promise<Buffer | undefined> {
  const response = await client.request('GET', client.url(`/v2/${repository}/manifests/${reference}`), { repository, action: 'pull', headers: { Accept: accept.join(', ') } });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw fail(client, `return the manifest ${reference} of ${repository}`, response);
  return response.body;
}

function checkDigestHeader(client: RegistryClient, response: HttpResponse, expected: string, what: string): void {
  const digest = header(response, 'docker-content-digest');
  if (digest && digest !== expected) {
    throw new InputError(`The registry ${client.registry} stored the ${what} as ${digest}, not ${expected}; it altered the content, so nothing was tagged.`);
  }
}
