import {createReadStream} from 'node:fs';
import {mkdtemp, readFile, rm, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {normaliseVersionInput} from '../buildpack/version.js';
import type {Inputs} from '../inputs/inputs.js';
import {BUILDPACKAGE_METADATA_LABEL} from '../image/labels.js';
import {sha256Digest} from '../oci/digest.js';
import {REF_NAME_ANNOTATION, SUBJECT_ANNOTATION, VIEW_OF_ANNOTATION} from '../oci/layout.js';
import {BlobStore} from '../oci/store.js';
import {MediaType, type Descriptor} from '../oci/types.js';
import {parseTags} from '../plan/plan.js';
import {parsePlatform, formatPlatform} from '../platform/platform.js';
import {checkExpectedDigest} from '../publish/expected.js';
import {loginOf, openRegistries} from '../publish/registries.js';
import type {ManifestContent, ReferrerContent} from '../registry/write.js';
import {publish} from '../registry/write.js';
import {formatReference, repositoryName} from '../registry/reference.js';
import type {ManifestRecord, RunMetadata} from '../report/outputs.js';
import {imageSize, setOutputs} from '../report/outputs.js';
import {RunProgress} from '../report/progress.js';
import {writeSummary} from '../report/summary.js';
import {extractArchive, isLayoutEntry} from '../util/archive.js';
import {releaseTemporary, trackTemporary} from '../util/cancel.js';
import {UserError} from '../util/errors.js';
import {hashFile} from '../util/hash.js';
import * as log from '../util/log.js';

const INDEX_TYPES: string[] = [MediaType.ImageIndex, MediaType.DockerManifestList];
const MANIFEST_TYPES: string[] = [MediaType.ImageManifest, MediaType.DockerManifest];
const MAX_JSON = 8 * 1024 * 1024;

/**
 * mode: publish: an OCI image layout written by an earlier run (its `layout` output, or a .tar
 * or .tar.gz of it: how it travels as an artifact or a release asset), published as it is: the
 * index and everything it references, byte for byte, with the order, read-back and idempotency
 * of mode: all. No buildpack directory is needed; every blob is checked against its digest
 * before anything is sent.
 */
export async function runPublish(inputs: Inputs, env: NodeJS.ProcessEnv, progress: RunProgress = new RunProgress()): Promise<void> {
  if (!inputs.layout) {
    throw new UserError('Input "layout" is empty, but mode: publish publishes a layout; set it to the layout output of the packaging run, or to a .tar/.tar.gz of that directory (the -oci-layout.tar release asset).');
  }
  if (inputs.annotations.items.length) {
    throw new UserError('Input "annotations" is set, but mode: publish publishes the layout byte for byte, annotations as they were written; give the annotations to the run that packaged it, or remove them here.');
  }
  const tags = parseTags(inputs.tags);
  if (!tags.length) throw new UserError('Input "tags" is empty, but mode: publish exists to write the index under tags; set tags to the references to publish to.');
  const work = await mkdtemp(path.join(env.RUNNER_TEMP || tmpdir(), 'multiarch-buildpack-work-'));
  trackTemporary(work);
  try {
    const dir = await progress.step('Read the layout', () => openLayout(inputs.layout as string, work));
    const layout = await readLayout(dir, inputs.layout, normaliseVersionInput(inputs.version));
    if (layout.id) progress.module = {id: layout.id, version: layout.version ?? layout.name ?? ''};
    log.info(`${layout.index.descriptor.digest} (${layout.name ?? 'unnamed'}) over ${layout.records.map(r => `${formatPlatform(r.platform)} ${r.digest}`).join(', ')}`);
    checkExpectedDigest(layout.index.descriptor.digest, inputs.expectedDigest);
    let pushed: string[] = [];
    let push: RunMetadata['push'];
    if (inputs.push) {
      const clients = await openRegistries(
        tags.map(t => t.registry),
        loginOf(inputs, tags[0].registry),
        env
      );
      progress.tagsPlanned = tags.length;
      const result = await progress.step('Publish', () => {
        progress.contentSent = true;
        return publish({store: new BlobStore(dir), manifests: layout.manifests, referrers: layout.referrers, index: layout.index}, tags, clients, progress.logger());
      });
      pushed = result.tags;
      push = {...result.stats, ...clients.stats()};
      log.info(`Uploaded ${result.stats.uploaded} blobs (${result.stats.bytesUploaded} bytes), mounted ${result.stats.mounted}, ${result.stats.existing} already present.`);
    } else {
      log.info(`Dry run (push: false): would publish ${layout.index.descriptor.digest} to ${tags.map(formatReference).join(', ')}.`);
    }
    const metadata: RunMetadata = {
      id: layout.id ?? '',
      version: layout.version ?? layout.name ?? '',
      digest: layout.index.descriptor.digest,
      mediaType: layout.index.descriptor.mediaType,
      size: layout.index.descriptor.size,
      layout: inputs.layout,
      manifests: layout.records,
      imageSizes: Object.fromEntries(layout.records.map((r, i) => [formatPlatform(r.platform), imageSize(layout.manifests[i].blobs)])),
      'cnb-files': {},
      annotations: layout.annotations,
      image: `${repositoryName(tags[0])}@${layout.index.descriptor.digest}`,
      tags: pushed,
      push,
      tools: {},
      smoke: []
    };
    setOutputs(metadata);
    await writeSummary(metadata, inputs.summary);
  } finally {
    await rm(work, {recursive: true, force: true});
    releaseTemporary(work);
  }
}

/** The layout directory: the input itself, or the archive extracted into `work`. */
async function openLayout(input: string, work: string): Promise<string> {
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new UserError(`Input "layout" is ${input}, which does not exist; set it to the layout output of the packaging run, or to the -oci-layout.tar release asset.`);
  if (info.isDirectory()) return input;
  if (!/\.(tar|tar\.gz|tgz)$/.test(input)) {
    throw new UserError(`Input "layout" is ${input}, which is neither a directory nor a .tar/.tar.gz; set it to an OCI image layout or an archive of one.`);
  }
  const dir = path.join(work, 'layout');
  await extractArchive(createReadStream(input), dir, {archive: input, leadingSlashAllowed: isLayoutEntry});
  log.info(`Extracted ${input}`);
  return dir;
}

interface Layout {
  index: {descriptor: Descriptor; bytes: Buffer};
  manifests: ManifestContent[];
  records: ManifestRecord[];
  /** Artifacts about its platform manifests (SBOMs) the layout holds. */
  referrers: ReferrerContent[];
  name?: string;
  id?: string;
  version?: string;
  annotations: Record<string, string>;
}

async function readJson(file: string, what: string, where: string): Promise<unknown> {
  const size = (await stat(file).catch(() => undefined))?.size;
  if (size === undefined) throw new UserError(`${where} has no ${what}; it is not a complete OCI image layout, so package it again.`);
  if (size > MAX_JSON) throw new UserError(`${where} has a ${what} of ${size} bytes, far more than any index; it is not a layout the action wrote.`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new UserError(`${where} has a ${what} that is not JSON; it is damaged, so package it again.`, {cause: error});
  }
}

/** A blob of the layout, checked: present, of the size and digest its descriptor says. */
async function checkedBlob(dir: string, where: string, d: Descriptor, what: string): Promise<string> {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(String(d.digest))?.[1];
  if (!hex) throw new UserError(`${where} names a ${what} whose digest "${String(d.digest).slice(0, 80)}" is not sha256:<64 hex digits>; it is not a layout the action wrote.`);
  const file = path.join(dir, 'blobs', 'sha256', hex);
  const seen = await hashFile(file).catch(() => undefined);
  if (!seen) throw new UserError(`${where} lacks the ${what} ${d.digest}; the layout is incomplete, so package it again.`);
  if (seen.digest !== d.digest || seen.size !== d.size) {
    throw new UserError(`${where} holds a ${what} ${d.digest} whose bytes are ${seen.digest} (${seen.size} bytes, not ${d.size}); the layout was altered, so nothing was published.`);
  }
  return file;
}

/**
 * The index to publish: index.json's one index (views of a Docker manifest list are skipped),
 * or the one `version` names when there are several; with every manifest, config and layer it
 * references present and intact.
 */
async function readLayout(dir: string, where: string, version: string | undefined): Promise<Layout> {
  await readJson(path.join(dir, 'oci-layout'), 'oci-layout file', where);
  const top = (await readJson(path.join(dir, 'index.json'), 'index.json', where)) as {manifests?: (Descriptor & {annotations?: Record<string, string>})[]};
  const all = (Array.isArray(top.manifests) ? top.manifests : []).filter(m => m && typeof m === 'object');
  const entries = all.filter(m => !m.annotations?.[VIEW_OF_ANNOTATION] && !m.annotations?.[SUBJECT_ANNOTATION]);
  const nameOf = (m: {annotations?: Record<string, string>}): string | undefined => m.annotations?.[REF_NAME_ANNOTATION];
  const named = version === undefined ? entries : entries.filter(m => nameOf(m) === version);
  const names = entries.map(m => nameOf(m) ?? m.digest).join(', ');
  if (!named.length) {
    throw new UserError(version === undefined ? `${where} names no image index in its index.json; it is not a layout the action wrote.` : `${where} names no index "${version}" (it has ${names || 'none'}); set version to one of them.`);
  }
  if (named.length > 1) throw new UserError(`${where} holds several indexes (${names}); set version to the one to publish.`);
  const entry = named[0];
  if (!INDEX_TYPES.includes(entry.mediaType)) {
    throw new UserError(`${where} names ${entry.digest} as ${entry.mediaType}, not an image index; mode: publish publishes the multi-platform index a packaging run wrote.`);
  }
  const descriptor: Descriptor = {mediaType: entry.mediaType, digest: entry.digest, size: entry.size};
  const indexFile = await checkedBlob(dir, where, descriptor, 'index');
  const bytes = await readFile(indexFile);
  const index = JSON.parse(bytes.toString('utf8')) as {mediaType?: string; manifests?: (Descriptor & {platform?: {os?: string; architecture?: string; variant?: string}})[]; annotations?: Record<string, string>};
  if (index.mediaType !== entry.mediaType || !Array.isArray(index.manifests) || !index.manifests.length) {
    throw new UserError(`${where} has an index ${entry.digest} that is not a ${entry.mediaType} over platform manifests; it is not a layout the action wrote.`);
  }
  const manifests: ManifestContent[] = [];
  const records: ManifestRecord[] = [];
  let id: string | undefined;
  let moduleVersion: string | undefined;
  for (const m of index.manifests) {
    if (!MANIFEST_TYPES.includes(m.mediaType)) throw new UserError(`${where} has an index entry of type ${m.mediaType}, not an image manifest; it is not a layout the action wrote.`);
    const file = await checkedBlob(dir, where, m, 'manifest');
    const manifestBytes = await readFile(file);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {config?: Descriptor; layers?: Descriptor[]};
    if (!manifest.config || !Array.isArray(manifest.layers)) throw new UserError(`${where} has a manifest ${m.digest} without config or layers; it is damaged, so package it again.`);
    const configFile = await checkedBlob(dir, where, manifest.config, 'config');
    for (const layer of manifest.layers) await checkedBlob(dir, where, layer, 'layer');
    manifests.push({descriptor: {mediaType: m.mediaType, digest: m.digest, size: m.size}, bytes: manifestBytes, blobs: [manifest.config, ...manifest.layers]});
    const platform = parsePlatform(formatPlatform({os: m.platform?.os ?? '', architecture: m.platform?.architecture ?? '', variant: m.platform?.variant}), `${where} index entry`);
    records.push({
      platform: {os: platform.os, architecture: platform.architecture, ...(platform.variant ? {variant: platform.variant} : {})},
      digest: m.digest,
      size: m.size,
      mediaType: m.mediaType,
      experimental: m.annotations?.['io.paketo.experimental'] === 'true'
    });
    if (id === undefined) {
      try {
        const config = JSON.parse(await readFile(configFile, 'utf8')) as {config?: {Labels?: Record<string, string>}};
        const meta = JSON.parse(config.config?.Labels?.[BUILDPACKAGE_METADATA_LABEL] ?? '{}') as {id?: string; version?: string};
        id = meta.id;
        moduleVersion = meta.version;
      } catch {
        // not a buildpack's labels: published all the same, reported without id
      }
    }
  }
  if (sha256Digest(bytes) !== entry.digest) throw new Error('index bytes changed while reading');
  const referrers = await readReferrers(dir, where, all, manifests);
  return {index: {descriptor, bytes}, manifests, records, referrers, name: nameOf(entry), id, version: moduleVersion, annotations: index.annotations ?? {}};
}

/** The layout's artifacts about the index's platform manifests, every blob checked; others are not this index's. */
async function readReferrers(dir: string, where: string, entries: (Descriptor & {annotations?: Record<string, string>})[], manifests: ManifestContent[]): Promise<ReferrerContent[]> {
  const referrers: ReferrerContent[] = [];
  for (const e of entries) {
    const subject = manifests.find(m => m.descriptor.digest === e.annotations?.[SUBJECT_ANNOTATION])?.descriptor;
    if (!subject || e.mediaType !== MediaType.ImageManifest) continue;
    const bytes = await readFile(await checkedBlob(dir, where, e, 'artifact manifest'));
    const artifact = JSON.parse(bytes.toString('utf8')) as {artifactType?: string; config?: Descriptor; layers?: Descriptor[]; subject?: Descriptor};
    if (artifact.subject?.digest !== subject.digest || !artifact.config || !Array.isArray(artifact.layers)) {
      throw new UserError(`${where} has an artifact ${e.digest} that is not about ${subject.digest}, as index.json says; the layout was altered, so nothing was published.`);
    }
    for (const blob of [artifact.config, ...artifact.layers]) await checkedBlob(dir, where, blob, 'artifact blob');
    referrers.push({descriptor: {mediaType: e.mediaType, digest: e.digest, size: e.size, ...(artifact.artifactType ? {artifactType: artifact.artifactType} : {})}, bytes, blobs: [artifact.config, ...artifact.layers], subject});
  }
  return referrers;
}
