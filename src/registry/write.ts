import {createReadStream} from 'node:fs';
import {sha256Digest} from '../oci/digest.js';
import type {BlobStore} from '../oci/store.js';
import {MediaType, type Descriptor} from '../oci/types.js';
import {mapLimit} from '../util/concurrency.js';
import {blobExists, mountBlob, uploadBlob} from './blobs.js';
import type {Logger, RegistryClient} from './client.js';
import {RegistryError} from './errors.js';
import {getManifest, manifestExists, putManifest} from './manifests.js';
import {formatReference, type Reference} from './reference.js';
import {addToReferrersTag, hasReferrersApi} from './referrers.js';

/** A manifest to push by digest, with the blobs (config and layers) it references. */
export interface ManifestContent {
  descriptor: Descriptor;
  bytes: Buffer;
  blobs: Descriptor[];
}

/**
 * What one publish sends: manifests to push by digest (with their blobs, read from `store`), and
 * the index to write under every tag. Without an index nothing is tagged (a package job's
 * content); without manifests only the index is written, over manifests the repositories must
 * already hold (`existing`, pushed by other jobs).
 */
export interface PublishContent {
  store?: BlobStore;
  manifests?: ManifestContent[];
  /** Manifests each repository must hold before the index is tagged; a `missing` error otherwise. */
  existing?: Descriptor[];
  index?: {descriptor: Descriptor; bytes: Buffer};
  /**
   * Artifacts about manifests (SBOMs): pushed by digest with the content, then made findable
   * through the referrers API or, where a registry has none, the referrers tag; before any tag.
   */
  referrers?: ReferrerContent[];
  /** Repositories that already hold some blobs (a composite's components), to mount from. */
  mountSources?: Map<string, {registry: string; repository: string}>;
}

/** An artifact manifest (its descriptor carries `artifactType`) about `subject`. */
export interface ReferrerContent extends ManifestContent {
  subject: Descriptor;
}

/** Where a blob came from in this run, for the statistics and the log. */
export type BlobOutcome = 'existing' | 'mounted' | 'uploaded';

export interface PublishStats {
  existing: number;
  mounted: number;
  uploaded: number;
  bytesUploaded: number;
  /** Referrers-tag indexes written (registries without the referrers API). */
  referrerTags?: number;
}

export interface PublishResult {
  tags: string[];
  stats: PublishStats;
}

/** How many blob transfers run at once per repository. */
const BLOB_CONCURRENCY = 4;

interface Repository {
  registry: string;
  repository: string;
  tags: Reference[];
}

function repositoriesOf(references: Reference[]): Repository[] {
  const repos: Repository[] = [];
  for (const ref of references) {
    let repo = repos.find(r => r.registry === ref.registry && r.repository === ref.repository);
    if (!repo) repos.push((repo = {registry: ref.registry, repository: ref.repository, tags: []}));
    repo.tags.push(ref);
  }
  return repos;
}

export type ClientFor = (registry: string) => RegistryClient;

/**
 * The one way content reaches a registry: publishes to the repositories of `references`,
 * 1. into every repository, every blob (HEAD first; mounted from a repository of the same
 *    registry that already has it; else uploaded) and every manifest by digest;
 * 2. checks that the `existing` manifests are there;
 * 3. only then, the index bytes under each tag: a tag never points at something incomplete,
 *    and no per-architecture or temporary tag is ever written;
 * 4. each tag read back and compared with the digest of the bytes sent.
 */
export async function publish(content: PublishContent, references: Reference[], clientFor: ClientFor, logger?: Logger): Promise<PublishResult> {
  const referrers = content.referrers ?? [];
  const manifests = [...(content.manifests ?? []), ...referrers];
  if (manifests.length && !content.store) throw new Error('publish: manifests to push but no store to read their blobs from');
  const stats = manifests.length ? await pushContent(content.store as BlobStore, manifests, content.mountSources, references, clientFor, logger) : {existing: 0, mounted: 0, uploaded: 0, bytesUploaded: 0};
  if (referrers.length) stats.referrerTags = await attachReferrers(referrers, references, clientFor, logger);
  // The pushed manifests were made sure of just now: only the others are checked before tagging.
  if (content.existing?.length) await checkExisting(content.existing, references, clientFor);
  const tags = content.index ? await tagIndex(content.index, references, clientFor, logger) : [];
  return {tags, stats};
}

async function pushContent(store: BlobStore, manifests: ManifestContent[], mountSources: PublishContent['mountSources'], references: Reference[], clientFor: ClientFor, logger?: Logger): Promise<PublishStats> {
  const stats: PublishStats = {existing: 0, mounted: 0, uploaded: 0, bytesUploaded: 0};
  const blobs = uniqueBlobs(manifests);
  // Per registry: which repository already holds each blob, so others can mount it.
  const holders = new Map<string, Map<string, string>>();
  for (const repo of repositoriesOf(references)) {
    const client = clientFor(repo.registry);
    const held = holders.get(repo.registry) ?? new Map<string, string>();
    holders.set(repo.registry, held);
    const outcomes = await mapLimit(blobs, BLOB_CONCURRENCY, async blob => {
      const source = mountSources?.get(blob.digest);
      const from = held.get(blob.digest) ?? (source?.registry === repo.registry ? source.repository : undefined);
      const outcome = await pushBlob(client, repo.repository, blob, from, store);
      held.set(blob.digest, repo.repository);
      return outcome;
    });
    for (const [i, outcome] of outcomes.entries()) {
      stats[outcome]++;
      if (outcome === 'uploaded') stats.bytesUploaded += blobs[i].size;
    }
    for (const manifest of manifests) {
      if (!(await manifestExists(client, repo.repository, manifest.descriptor))) {
        await putManifest(client, repo.repository, manifest.descriptor.digest, manifest.descriptor.mediaType, manifest.bytes).catch((error: unknown) => {
          // Said as what it was: registries that predate OCI 1.1 refuse artifacts they would not know how to show.
          const artifactType = manifest.descriptor.artifactType;
          if (error instanceof RegistryError && artifactType) throw new RegistryError(error.reason, error.message, {...error.details, artifactType}, {cause: error});
          throw error;
        });
      }
    }
    const count = (o: BlobOutcome): number => outcomes.filter(x => x === o).length;
    logger?.info(`${repo.registry}/${repo.repository}: ${count('uploaded')} blobs uploaded, ${count('mounted')} mounted, ${count('existing')} already there; ${manifests.length} manifests by digest`);
  }
  return stats;
}

/** Each referrer findable from its subject in every repository: through the API, else the referrers tag. */
async function attachReferrers(referrers: ReferrerContent[], references: Reference[], clientFor: ClientFor, logger?: Logger): Promise<number> {
  let written = 0;
  for (const repo of repositoriesOf(references)) {
    const client = clientFor(repo.registry);
    if (await hasReferrersApi(client, repo.repository, referrers[0].subject.digest)) {
      logger?.info(`${repo.registry}/${repo.repository}: referrers API; ${referrers.length} referrers found through their subjects`);
      continue;
    }
    for (const r of referrers) if (await addToReferrersTag(client, repo.repository, r.subject.digest, r.descriptor)) written++;
    logger?.info(`${repo.registry}/${repo.repository}: no referrers API; ${referrers.length} referrers listed under their subjects' referrers tags`);
  }
  return written;
}

async function checkExisting(manifests: Descriptor[], references: Reference[], clientFor: ClientFor): Promise<void> {
  for (const repo of repositoriesOf(references)) {
    for (const manifest of manifests) {
      if (!(await manifestExists(clientFor(repo.registry), repo.repository, manifest))) {
        throw new RegistryError('missing', `${repo.registry}/${repo.repository} does not hold the manifest ${manifest.digest}`, {registry: repo.registry, repository: repo.repository, digest: manifest.digest});
      }
    }
  }
}

async function tagIndex(index: {descriptor: Descriptor; bytes: Buffer}, references: Reference[], clientFor: ClientFor, logger?: Logger): Promise<string[]> {
  const tags: string[] = [];
  for (const ref of references) {
    await putManifest(clientFor(ref.registry), ref.repository, ref.tag as string, index.descriptor.mediaType, index.bytes);
    tags.push(formatReference(ref));
    logger?.tagWritten?.(formatReference(ref));
  }
  for (const ref of references) await verifyTag(clientFor(ref.registry), ref, index.descriptor);
  for (const tag of tags) logger?.info(`${tag} -> ${index.descriptor.digest}`);
  return tags;
}

function uniqueBlobs(manifests: ManifestContent[]): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  for (const m of manifests) for (const b of m.blobs) if (!seen.has(b.digest)) seen.set(b.digest, b);
  return [...seen.values()];
}

async function pushBlob(client: RegistryClient, repository: string, blob: Descriptor, mountFrom: string | undefined, store: BlobStore): Promise<BlobOutcome> {
  if (await blobExists(client, repository, blob.digest)) return 'existing';
  if (mountFrom && mountFrom !== repository && (await mountBlob(client, repository, blob.digest, mountFrom))) return 'mounted';
  const path = store.blobPath(blob.digest);
  await uploadBlob(client, repository, blob, (start, end) => createReadStream(path, {start, end}));
  return 'uploaded';
}

/** Reads a tag back and compares it with the bytes sent. */
async function verifyTag(client: RegistryClient, ref: Reference, index: Descriptor): Promise<void> {
  const accept = [index.mediaType, MediaType.ImageIndex, MediaType.DockerManifestList];
  const body = await getManifest(client, ref.repository, ref.tag as string, accept);
  const digest = body ? sha256Digest(body) : 'nothing';
  if (digest !== index.digest) {
    throw new RegistryError('conflict', `${formatReference(ref)} reads back as ${digest}, not the ${index.digest} just pushed`, {registry: ref.registry, repository: ref.repository, digest: index.digest});
  }
}
