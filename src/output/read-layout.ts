import {createReadStream} from 'node:fs';
import {readFile, stat} from 'node:fs/promises';
import path from 'node:path';
import {BUILDPACKAGE_METADATA_LABEL} from '../image/labels.js';
import {sha256Digest} from '../oci/digest.js';
import {REF_NAME_ANNOTATION, SUBJECT_ANNOTATION, VIEW_OF_ANNOTATION} from '../oci/layout.js';
import {MediaType, type Descriptor} from '../oci/types.js';
import {formatPlatform, parsePlatform} from '../platform/platform.js';
import type {ManifestContent, ReferrerContent} from '../registry/write.js';
import type {ManifestRecord} from '../report/outputs.js';
import {extractArchive, isLayoutEntry} from '../util/archive.js';
import {UserError} from '../util/errors.js';
import {hashFile} from '../util/hash.js';
import * as log from '../util/log.js';

const INDEX_TYPES: string[] = [MediaType.ImageIndex, MediaType.DockerManifestList];
const MANIFEST_TYPES: string[] = [MediaType.ImageManifest, MediaType.DockerManifest];
/** Larger than any index, manifest or config the action writes. */
const MAX_JSON = 8 * 1024 * 1024;

/** A layout an earlier run wrote, read back for mode: publish: what to send, checked. */
export interface WrittenLayout {
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

type LayoutIndexEntry = Descriptor & {annotations?: Record<string, string>};

/** The layout directory: `input` itself, or the archive `input` extracted into `work`. */
export async function openLayout(input: string, work: string): Promise<string> {
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

/**
 * The index to publish: index.json's one index (views of a Docker manifest list and artifacts
 * are skipped), or the one `version` names when there are several; with every manifest, config
 * and layer it references, and its artifacts, present and intact. `where` names the layout in
 * errors.
 */
export async function readLayout(dir: string, where: string, version: string | undefined): Promise<WrittenLayout> {
  await readJson(path.join(dir, 'oci-layout'), 'oci-layout file', where);
  const top = (await readJson(path.join(dir, 'index.json'), 'index.json', where)) as {manifests?: LayoutIndexEntry[]};
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
  type Index = {mediaType?: string; manifests?: (Descriptor & {platform?: {os?: string; architecture?: string; variant?: string}})[]; annotations?: Record<string, string>};
  const {bytes, value: index} = await checkedJson<Index>(dir, where, descriptor, 'index');
  if (index.mediaType !== entry.mediaType || !Array.isArray(index.manifests) || !index.manifests.length) {
    throw new UserError(`${where} has an index ${entry.digest} that is not a ${entry.mediaType} over platform manifests; it is not a layout the action wrote.`);
  }
  const manifests: ManifestContent[] = [];
  const records: ManifestRecord[] = [];
  let labels: {id?: string; version?: string} | undefined;
  for (const m of index.manifests) {
    if (!MANIFEST_TYPES.includes(m.mediaType)) throw new UserError(`${where} has an index entry of type ${m.mediaType}, not an image manifest; it is not a layout the action wrote.`);
    const manifest = await checkedJson<{config?: Descriptor; layers?: Descriptor[]}>(dir, where, m, 'manifest');
    const {config, layers} = manifest.value;
    if (!config || !Array.isArray(layers)) throw new UserError(`${where} has a manifest ${m.digest} without config or layers; it is damaged, so package it again.`);
    const configJson = await checkedJson<{config?: {Labels?: Record<string, string>}}>(dir, where, config, 'config');
    for (const layer of layers) await checkedBlob(dir, where, layer, 'layer');
    manifests.push({descriptor: {mediaType: m.mediaType, digest: m.digest, size: m.size}, bytes: manifest.bytes, blobs: [config, ...layers]});
    const platform = parsePlatform(formatPlatform({os: m.platform?.os ?? '', architecture: m.platform?.architecture ?? '', variant: m.platform?.variant}), `${where} index entry`);
    records.push({
      platform: {os: platform.os, architecture: platform.architecture, ...(platform.variant ? {variant: platform.variant} : {})},
      digest: m.digest,
      size: m.size,
      mediaType: m.mediaType,
      experimental: m.annotations?.['io.paketo.experimental'] === 'true'
    });
    labels ??= buildpackageLabel(configJson.value);
  }
  const referrers = await readReferrers(dir, where, all, manifests);
  return {index: {descriptor, bytes}, manifests, records, referrers, name: nameOf(entry), id: labels?.id, version: labels?.version, annotations: index.annotations ?? {}};
}

/** The buildpackage label's id and version; nothing for an image that is not a buildpack's (published all the same, reported without id). */
function buildpackageLabel(config: {config?: {Labels?: Record<string, string>}}): {id?: string; version?: string} {
  try {
    const meta = JSON.parse(config.config?.Labels?.[BUILDPACKAGE_METADATA_LABEL] ?? '{}') as {id?: string; version?: string};
    return {id: meta.id, version: meta.version};
  } catch {
    return {};
  }
}

/** The layout's artifacts about the index's platform manifests, every blob checked; others are not this index's. */
async function readReferrers(dir: string, where: string, entries: LayoutIndexEntry[], manifests: ManifestContent[]): Promise<ReferrerContent[]> {
  const referrers: ReferrerContent[] = [];
  for (const e of entries) {
    const subject = manifests.find(m => m.descriptor.digest === e.annotations?.[SUBJECT_ANNOTATION])?.descriptor;
    if (!subject || e.mediaType !== MediaType.ImageManifest) continue;
    const {bytes, value: artifact} = await checkedJson<{artifactType?: string; config?: Descriptor; layers?: Descriptor[]; subject?: Descriptor}>(dir, where, e, 'artifact manifest');
    if (artifact.subject?.digest !== subject.digest || !artifact.config || !Array.isArray(artifact.layers)) {
      throw new UserError(`${where} has an artifact ${e.digest} that is not about ${subject.digest}, as index.json says; the layout was altered, so nothing was published.`);
    }
    for (const blob of [artifact.config, ...artifact.layers]) await checkedBlob(dir, where, blob, 'artifact blob');
    referrers.push({descriptor: {mediaType: e.mediaType, digest: e.digest, size: e.size, ...(artifact.artifactType ? {artifactType: artifact.artifactType} : {})}, bytes, blobs: [artifact.config, ...artifact.layers], subject});
  }
  return referrers;
}

async function readJson(file: string, what: string, where: string): Promise<unknown> {
  const size = (await stat(file).catch(() => undefined))?.size;
  if (size === undefined) throw new UserError(`${where} has no ${what}; it is not a complete OCI image layout, so package it again.`);
  if (size > MAX_JSON) throw new UserError(`${where} has a ${what} of ${size} bytes, far more than any index; it is not a layout the action wrote.`);
  return parseJson(await readFile(file), what, where);
}

function parseJson(bytes: Buffer, what: string, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new UserError(`${where} has a ${what} that is not JSON; it is damaged, so package it again.`, {cause: error});
  }
}

/** Where a blob is, for a descriptor whose digest is a sha256 one. */
function blobFile(dir: string, where: string, d: Descriptor, what: string): string {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(String(d.digest))?.[1];
  if (!hex) throw new UserError(`${where} names a ${what} whose digest "${String(d.digest).slice(0, 80)}" is not sha256:<64 hex digits>; it is not a layout the action wrote.`);
  return path.join(dir, 'blobs', 'sha256', hex);
}

function checkDigest(where: string, d: Descriptor, what: string, seen: {digest: string; size: number}): void {
  if (seen.digest !== d.digest || seen.size !== d.size) {
    throw new UserError(`${where} holds a ${what} ${d.digest} whose bytes are ${seen.digest} (${seen.size} bytes, not ${d.size}); the layout was altered, so nothing was published.`);
  }
}

/** A blob of the layout, checked by streaming it: present, of the size and digest its descriptor says. */
async function checkedBlob(dir: string, where: string, d: Descriptor, what: string): Promise<void> {
  const seen = await hashFile(blobFile(dir, where, d, what)).catch(() => undefined);
  if (!seen) throw new UserError(`${where} lacks the ${what} ${d.digest}; the layout is incomplete, so package it again.`);
  checkDigest(where, d, what, seen);
}

/** A JSON blob of the layout (index, manifest, config), read once: checked as checkedBlob checks, and parsed. */
async function checkedJson<T>(dir: string, where: string, d: Descriptor, what: string): Promise<{bytes: Buffer; value: T}> {
  const file = blobFile(dir, where, d, what);
  if (typeof d.size !== 'number' || d.size > MAX_JSON) throw new UserError(`${where} names a ${what} ${d.digest} of ${String(d.size)} bytes, far more than any ${what}; it is not a layout the action wrote.`);
  const bytes = await readFile(file).catch(() => undefined);
  if (!bytes) throw new UserError(`${where} lacks the ${what} ${d.digest}; the layout is incomplete, so package it again.`);
  checkDigest(where, d, what, {digest: sha256Digest(bytes), size: bytes.length});
  return {bytes, value: parseJson(bytes, what, where) as T};
}
