import {canonicalJson} from '../oci/digest.js';
import {referrersTag} from '../oci/artifact.js';
import {MediaType, type Descriptor} from '../oci/types.js';
import type {RegistryClient} from './client.js';
import {RegistryError} from './errors.js';
import {getManifest, putManifest} from './manifests.js';

/** Largest referrers index read back (the fallback tag): many artifacts, never megabytes. */
const MAX_INDEX_ENTRIES = 1000;

/**
 * Whether a repository answers the distribution spec 1.1 referrers API: a 200 with an image index
 * for a subject's referrers. Registries without it (distribution 2.x) answer 404 for the route.
 */
export async function hasReferrersApi(client: RegistryClient, repository: string, subject: string): Promise<boolean> {
  const options = {repository, action: 'pull' as const, headers: {accept: MediaType.ImageIndex}, maxBodyBytes: 4 * 1024 * 1024};
  const response = await client.request('GET', client.url(`/v2/${repository}/referrers/${subject}`), options);
  if (response.status !== 200) return false;
  try {
    const body = JSON.parse(response.body.toString('utf8')) as {manifests?: unknown};
    return Array.isArray(body.manifests);
  } catch {
    return false;
  }
}

/**
 * The referrers tag schema of the distribution spec 1.1, for registries without the referrers
 * API: under the tag `sha256-<subject hex>`, an image index listing the subject's referrers.
 * Adds `referrer` when the index does not list it yet (and writes nothing when it does: a re-run
 * changes nothing); entries other clients put there are kept. Returns whether the tag was written.
 */
export async function addToReferrersTag(client: RegistryClient, repository: string, subject: string, referrer: Descriptor): Promise<boolean> {
  const tag = referrersTag(subject);
  // Asked for image manifests too, so that a tag holding one is refused rather than taken for absent.
  const existing = await getManifest(client, repository, tag, [MediaType.ImageIndex, MediaType.ImageManifest]);
  let manifests: Descriptor[] = [];
  if (existing) {
    let parsed: {manifests?: unknown};
    try {
      parsed = JSON.parse(existing.toString('utf8')) as {manifests?: unknown};
    } catch (error) {
      throw new RegistryError('malformed', `${client.registry}/${repository}:${tag} is not an image index`, {registry: client.registry, repository}, {cause: error});
    }
    if (!Array.isArray(parsed.manifests) || parsed.manifests.length > MAX_INDEX_ENTRIES) {
      throw new RegistryError('malformed', `${client.registry}/${repository}:${tag} is not a referrers index`, {registry: client.registry, repository});
    }
    manifests = parsed.manifests.filter((m): m is Descriptor => !!m && typeof m === 'object' && typeof (m as Descriptor).digest === 'string');
    if (manifests.some(m => m.digest === referrer.digest)) return false;
  }
  const entry: Descriptor = {
    mediaType: referrer.mediaType,
    digest: referrer.digest,
    size: referrer.size,
    ...(referrer.artifactType ? {artifactType: referrer.artifactType} : {}),
    ...(referrer.annotations ? {annotations: referrer.annotations} : {})
  };
  const index = canonicalJson({schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [...manifests, entry]});
  await putManifest(client, repository, tag, MediaType.ImageIndex, index);
  return true;
}
