import {sha256Digest} from '../oci/digest.js';
import type {Descriptor} from '../oci/types.js';
import {header} from '../http/client.js';
import type {RegistryClient} from './client.js';
import {RegistryError} from './errors.js';

/** Registries refuse manifests above 4 MiB; twice that is never a manifest. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** HEAD a manifest by digest: present or not. */
export async function manifestExists(client: RegistryClient, repository: string, descriptor: Descriptor): Promise<boolean> {
  const options = {repository, action: 'pull' as const, headers: {accept: descriptor.mediaType}};
  const response = await client.request('HEAD', client.url(`/v2/${repository}/manifests/${descriptor.digest}`), options);
  if (response.status === 200) return true;
  if (response.status === 404) return false;
  throw client.statusError(`could not say whether ${repository} has the manifest ${descriptor.digest} (HTTP ${response.status})`, response, options, 'HEAD');
}

/** PUTs manifest bytes under a digest or a tag; Content-Type is the body's own mediaType. */
export async function putManifest(client: RegistryClient, repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<void> {
  const options = {repository, action: 'push' as const, headers: {'content-type': mediaType}, body: bytes};
  const response = await client.request('PUT', client.url(`/v2/${repository}/manifests/${reference}`), options);
  if (response.status !== 201 && response.status !== 200) {
    throw client.statusError(`refused to store the manifest ${reference} in ${repository} (HTTP ${response.status})`, response, options, 'PUT');
  }
  checkDigestHeader(client, response.headers, sha256Digest(bytes), `the manifest ${reference} in ${repository}`, repository);
}

/**
 * GETs what a tag or digest points at: the exact bytes. Asked by digest, the bytes must have
 * that digest, or the registry cannot be trusted for it. Undefined when the registry has none.
 */
export async function getManifest(client: RegistryClient, repository: string, reference: string, accept: string[]): Promise<Buffer | undefined> {
  const options = {repository, action: 'pull' as const, headers: {accept: accept.join(', ')}, maxBodyBytes: MAX_MANIFEST_BYTES};
  const response = await client.request('GET', client.url(`/v2/${repository}/manifests/${reference}`), options);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw client.statusError(`did not return the manifest ${reference} of ${repository} (HTTP ${response.status})`, response, options);
  if (DIGEST.test(reference)) {
    const digest = sha256Digest(response.body);
    if (digest !== reference) {
      throw new RegistryError('digest-mismatch', `${client.registry}/${repository}@${reference} was answered with content whose digest is ${digest}`, {registry: client.registry, repository, method: 'GET'});
    }
  }
  return response.body;
}

/** Docker-Content-Digest, when a registry sends it, must name the bytes that were sent. */
export function checkDigestHeader(client: RegistryClient, headers: Record<string, string | string[] | undefined>, expected: string, what: string, repository: string): void {
  const digest = header({headers}, 'docker-content-digest');
  if (digest && digest !== expected) {
    throw new RegistryError('digest-mismatch', `${client.registry} stored ${what} as ${digest.slice(0, 80)}, not ${expected}`, {registry: client.registry, repository});
  }
}
