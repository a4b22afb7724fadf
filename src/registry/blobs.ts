import {createWriteStream} from 'node:fs';
import type {Readable} from 'node:stream';
import {Transform, type TransformCallback} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {createHash} from 'node:crypto';
import {header, type HttpResponse} from '../http/client.js';
import {sha256Digest} from '../oci/digest.js';
import {STREAM_CHUNK} from '../oci/gzip.js';
import type {BlobStore} from '../oci/store.js';
import type {Descriptor} from '../oci/types.js';
import type {RegistryClient, RequestOptions} from './client.js';
import {RegistryError} from './errors.js';
import {checkDigestHeader} from './manifests.js';

/** HEAD a blob: 200 (or a redirect to storage) means present. */
export async function blobExists(client: RegistryClient, repository: string, digest: string): Promise<boolean> {
  const options = {repository, action: 'pull' as const};
  const response = await client.request('HEAD', client.url(`/v2/${repository}/blobs/${digest}`), options);
  if (response.status === 200 || (response.status >= 300 && response.status < 400)) return true;
  if (response.status === 404) return false;
  throw client.statusError(`could not say whether ${repository} has the blob ${digest} (HTTP ${response.status})`, response, options, 'HEAD');
}

/**
 * Asks the registry to mount a blob from another of its repositories. True when mounted; false
 * when the registry declines (202, or any 4xx: Harbor, Docker Hub and Quay differ, and a token
 * server may not grant the source's pull scope), in which case the caller uploads.
 */
export async function mountBlob(client: RegistryClient, repository: string, digest: string, from: string): Promise<boolean> {
  const url = client.url(`/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`);
  try {
    const response = await client.request('POST', url, {repository, action: 'push', extraScopes: [`repository:${from}:pull`]});
    if (response.status === 201) return true;
    if (response.status === 202) await cancelUpload(client, repository, response);
    return false;
  } catch (error) {
    if (error instanceof RegistryError && (error.reason === 'denied' || error.reason === 'unauthorized' || (error.reason === 'status' && (error.status ?? 0) < 500))) {
      return false; // the upload that follows is the fallback
    }
    throw error;
  }
}

async function cancelUpload(client: RegistryClient, repository: string, response: HttpResponse): Promise<void> {
  const location = header(response, 'location');
  if (!location) return;
  await client.request('DELETE', new URL(location, response.url), {repository, action: 'push'}).catch(() => undefined);
}

/** Opens an upload session; returns its Location resolved against the request URL. */
async function startUpload(client: RegistryClient, repository: string): Promise<URL> {
  const options = {repository, action: 'push' as const};
  const response = await client.request('POST', client.url(`/v2/${repository}/blobs/uploads/`), options);
  const location = header(response, 'location');
  if (response.status !== 202 || !location) throw client.statusError(`did not start an upload to ${repository} (HTTP ${response.status})`, response, options, 'POST');
  return resolveLocation(client, location, response.url);
}

function resolveLocation(client: RegistryClient, location: string, base: URL): URL {
  try {
    return new URL(location, base);
  } catch (error) {
    throw new RegistryError('malformed', `${client.registry} answered with an upload location that is not a URL`, {registry: client.registry}, {cause: error});
  }
}

/** Appends `digest=` to the raw query: URLSearchParams would re-encode opaque state parameters. */
export function withDigest(location: URL, digest: string): URL {
  const href = location.href.replace(/#.*$/, '');
  return new URL(`${href}${location.search ? '&' : '?'}digest=${encodeURIComponent(digest)}`);
}

const CHUNK_BYTES = 16 * 1024 * 1024;

/** How many upload sessions one blob may take before its failure is final. */
const UPLOAD_SESSIONS = 3;

/**
 * Uploads a blob monolithically (POST, then PUT of the whole stream with its digest). After a
 * 413 from a proxy in front of the registry, uploads it in chunks instead. A retried PUT that
 * finds its session gone (the registry stored the blob before the connection broke, or expired
 * the session) checks for the blob, else starts a fresh session.
 */
export async function uploadBlob(client: RegistryClient, repository: string, blob: Descriptor, open: (start?: number, end?: number) => Readable): Promise<void> {
  for (let session = 1; ; session++) {
    const location = await startUpload(client, repository);
    const options: RequestOptions = {
      repository,
      action: 'push',
      headers: {'content-type': 'application/octet-stream'},
      body: () => open(),
      contentLength: blob.size,
      timeoutMs: client.transferTimeout(blob.size)
    };
    const response = await client.request('PUT', withDigest(location, blob.digest), options);
    if (response.status === 413) return uploadChunked(client, repository, blob, open, Number(header(response, 'oci-chunk-min-length') ?? 0));
    if ([200, 201, 202, 204].includes(response.status)) {
      checkDigestHeader(client, response.headers, blob.digest, `the blob in ${repository}`, repository);
      return;
    }
    if (await blobExists(client, repository, blob.digest)) return;
    if (session >= UPLOAD_SESSIONS || ![400, 404, 416].includes(response.status)) {
      throw client.statusError(`did not accept the blob ${blob.digest} in ${repository} (HTTP ${response.status})`, response, options, 'PUT');
    }
    client.stats.retries++;
  }
}

async function uploadChunked(client: RegistryClient, repository: string, blob: Descriptor, open: (start?: number, end?: number) => Readable, minimum: number): Promise<void> {
  let location = await startUpload(client, repository);
  const chunk = Math.max(CHUNK_BYTES, Number.isFinite(minimum) ? minimum : 0);
  for (let start = 0; start < blob.size; start += chunk) {
    const end = Math.min(blob.size, start + chunk) - 1;
    const options: RequestOptions = {
      repository,
      action: 'push',
      headers: {'content-type': 'application/octet-stream', 'content-range': `${start}-${end}`},
      body: () => open(start, end),
      contentLength: end - start + 1,
      timeoutMs: client.transferTimeout(end - start + 1)
    };
    const response = await client.request('PATCH', location, options);
    const next = header(response, 'location');
    if (response.status !== 202 || !next) throw client.statusError(`did not accept a chunk of the blob ${blob.digest} in ${repository} (HTTP ${response.status})`, response, options, 'PATCH');
    location = resolveLocation(client, next, response.url);
  }
  const options = {repository, action: 'push' as const};
  const done = await client.request('PUT', withDigest(location, blob.digest), options);
  if (![200, 201, 202, 204].includes(done.status)) throw client.statusError(`did not complete the blob ${blob.digest} in ${repository} (HTTP ${done.status})`, done, options, 'PUT');
}

/**
 * GETs a blob, following redirects to storage (without credentials: the client sends them to
 * the registry's own origin only).
 */
async function getBlob(client: RegistryClient, repository: string, blob: Descriptor, extra: Pick<RequestOptions, 'consume' | 'maxBodyBytes'>): Promise<HttpResponse> {
  let url = client.url(`/v2/${repository}/blobs/${blob.digest}`);
  const options: RequestOptions = {repository, action: 'pull', timeoutMs: client.transferTimeout(blob.size), ...extra};
  for (let hop = 0; hop < 5; hop++) {
    const response = await client.request('GET', url, options);
    const location = header(response, 'location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = resolveLocation(client, location, response.url);
      continue;
    }
    if (response.status !== 200) throw client.statusError(`did not return the blob ${blob.digest} of ${repository} (HTTP ${response.status})`, response, options);
    return response;
  }
  throw new RegistryError('malformed', `${client.registry} redirected the blob ${blob.digest} of ${repository} more than 5 times`, {registry: client.registry, repository});
}

/** A small blob (a config) in memory: no larger than its descriptor says, and with its digest. */
export async function readBlob(client: RegistryClient, repository: string, blob: Descriptor): Promise<Buffer> {
  const {body} = await getBlob(client, repository, blob, {maxBodyBytes: blob.size});
  const digest = sha256Digest(body);
  if (digest !== blob.digest) {
    throw new RegistryError('digest-mismatch', `The blob ${blob.digest} of ${client.registry}/${repository} arrived as ${digest}`, {registry: client.registry, repository});
  }
  return body;
}

/**
 * A layer, hashed while it streams to the store's disk (never held in memory), stopped as soon
 * as it grows past its descriptor's size, and kept only when its digest matches.
 */
export async function downloadBlob(client: RegistryClient, repository: string, blob: Descriptor, store: BlobStore): Promise<void> {
  if (await store.has(blob.digest)) return;
  const temp = await store.tempPath();
  let check: SizedDigest | undefined;
  try {
    // A retried GET starts over: a fresh hash, and the file truncated.
    await getBlob(client, repository, blob, {
      consume: body => {
        check = new SizedDigest(
          blob.size,
          () => new RegistryError('too-large', `The blob ${blob.digest} of ${client.registry}/${repository} is larger than the ${blob.size} bytes its descriptor says`, {registry: client.registry, repository})
        );
        return pipeline(body, check, createWriteStream(temp, {highWaterMark: STREAM_CHUNK}));
      }
    });
    const digest = check?.digest();
    if (digest !== blob.digest || check?.size !== blob.size) {
      throw new RegistryError('digest-mismatch', `The blob ${blob.digest} of ${client.registry}/${repository} arrived as ${digest} (${check?.size ?? 0} bytes)`, {registry: client.registry, repository});
    }
    await store.commit(temp, blob.digest);
  } catch (error) {
    await store.discard(temp);
    throw error;
  }
}

/** Hashes what passes through and stops the stream once it exceeds `limit` bytes. */
class SizedDigest extends Transform {
  private readonly hash = createHash('sha256');
  private readonly limit: number;
  private readonly tooLarge: () => Error;
  size = 0;
  constructor(limit: number, tooLarge: () => Error) {
    super();
    this.limit = limit;
    this.tooLarge = tooLarge;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      callback(this.tooLarge());
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
