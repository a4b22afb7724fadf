import path from 'node:path';
import type {BuildpackDescriptor} from '../buildpack/descriptor.js';
import {cnbFileName, writeCnb} from '../image/cnb.js';
import type {PlatformImage} from '../image/image.js';
import {annotationsAt} from '../inputs/annotations.js';
import {releaseIndex} from '../image/release-index.js';
import {SUBJECT_ANNOTATION, VIEW_OF_ANNOTATION, writeLayoutFiles, type LayoutEntry} from '../oci/layout.js';
import {EMPTY_DESCRIPTOR, EMPTY_JSON, artifactManifest} from '../oci/artifact.js';
import type {ReferrerContent} from '../registry/write.js';
import {writeFile} from 'node:fs/promises';
import {BlobStore} from '../oci/store.js';
import {MediaType, type Descriptor} from '../oci/types.js';
import type {ReleasePlan} from '../plan/plan.js';
import {formatPlatform, samePlatform} from '../platform/platform.js';
import {commitStaging, createStaging, discardStaging} from './staging.js';
import * as log from '../util/log.js';

export {EXPERIMENTAL_ANNOTATION} from '../image/release-index.js';

export interface PackagedPlatform {
  image: PlatformImage;
  experimental: boolean;
  /** Where its .cnb file is once the output is committed. */
  cnbFile: string;
  /** Where it is until then. */
  stagedCnbFile: string;
  /** Its attachments' files (the SBOM) once committed, by artifact type. */
  attachmentFiles: Record<string, string>;
}

export interface PackageResult {
  index: Descriptor;
  platforms: PackagedPlatform[];
  /** The OCI image layout, once committed. */
  layout: string;
  /** Where the blobs are until then: smoke tests and the publish read them from here. */
  store: BlobStore;
  /** Artifact manifests about the platform manifests (SBOMs), in the layout too, to publish as referrers. */
  referrers: ReferrerContent[];
}

export interface PackageRequest {
  descriptor: BuildpackDescriptor;
  plan: ReleasePlan;
  output: string;
  images: ImageSource;
  /** Documents about each platform image (its SBOM), made once the images are written. */
  attachments?: (images: PlatformImage[], store: BlobStore) => Promise<Attachment[]>;
}

/** A document about one platform image: stored as an OCI artifact in the layout and written as a file beside it. */
export interface Attachment {
  subject: PlatformImage;
  artifactType: string;
  fileName: string;
  bytes: Buffer;
}

/** Writes every platform's image into the store, in plan order (the native or the pack packager). */
export type ImageSource = (store: BlobStore) => Promise<PlatformImage[]>;

/** A packaged result still in its staging folder: the .cnb files to write, then a commit into `output`. */
export interface StagedPackage extends PackageResult {
  /** The staging folder: what is written there moves into `output` on commit. */
  stagingDir: string;
  /** Writes the .cnb files into the staging folder (copies of blobs on disk: callers overlap it with publishing). */
  writeCnbFiles(): Promise<void>;
  /** Moves everything into `output`, replacing what an earlier run wrote there. */
  commit(): Promise<void>;
  /** Removes the staging folder (and `output`, when this run created it). */
  discard(): Promise<void>;
}

/**
 * Turns platform images into the output: the images, one image index over them, and an OCI
 * layout naming the index by version, all written to a staging folder inside `output` and
 * moved into place by `commit`, so a failure or a cancelled run leaves `output` as it was.
 */
export async function packageBuildpack(request: PackageRequest): Promise<StagedPackage> {
  const {descriptor, plan} = request;
  const staging = await createStaging(request.output);
  try {
    const store = new BlobStore(staging.dir);
    const images = await request.images(store);
    const platforms = images.map(image => ({
      image,
      experimental: plan.experimental.some(e => samePlatform(e, image.platform)),
      name: cnbFileName(descriptor.id, plan.version, image)
    }));
    const index = releaseIndex(
      plan,
      platforms.map(p => ({manifest: p.image.manifest, platform: p.image.platform, experimental: p.experimental}))
    );
    const indexBlob = await store.writeJson(index.mediaType, index);
    const attachments = request.attachments ? await request.attachments(images, store) : [];
    const referrers = await Promise.all(attachments.map(a => storeAttachment(a, store, staging.dir)));
    const entries: LayoutEntry[] = [{descriptor: indexBlob.descriptor, refName: plan.version, annotations: annotationsAt(plan.annotationSet, 'index-descriptor')}];
    if (index.mediaType === MediaType.DockerManifestList) {
      // skopeo and podman read only OCI manifests and indexes from a layout's index.json: beside
      // the Docker manifest list that is published, name an OCI index over the same manifests.
      const view = await store.writeJson(MediaType.ImageIndex, {...index, mediaType: MediaType.ImageIndex});
      entries.push({descriptor: view.descriptor, refName: plan.version, annotations: {[VIEW_OF_ANNOTATION]: indexBlob.descriptor.digest}});
    }
    // Artifacts are listed after the index, marked with their subject, unnamed: `oci:<dir>:<version>` stays the index.
    for (const r of referrers) entries.push({descriptor: r.descriptor, annotations: {[SUBJECT_ANNOTATION]: r.subject.digest}});
    await writeLayoutFiles(staging.dir, entries);
    return {
      index: indexBlob.descriptor,
      platforms: platforms.map(p => ({
        image: p.image,
        experimental: p.experimental,
        cnbFile: path.join(request.output, p.name),
        stagedCnbFile: path.join(staging.dir, p.name),
        attachmentFiles: Object.fromEntries(attachments.filter(a => a.subject === p.image).map(a => [a.artifactType, path.join(request.output, a.fileName)]))
      })),
      layout: request.output,
      store,
      referrers,
      stagingDir: staging.dir,
      // Side by side; each written under a temporary name and renamed, so none is ever partial.
      writeCnbFiles: async () => {
        await Promise.all(platforms.map(p => writeCnb(path.join(staging.dir, p.name), p.image, store)));
      },
      commit: () => commitStaging(staging),
      discard: () => discardStaging(staging)
    };
  } catch (error) {
    await discardStaging(staging);
    throw error;
  }
}

/** An attachment as an artifact in the store (document, empty config, manifest) and as a file in the staging folder. */
async function storeAttachment(a: Attachment, store: BlobStore, stagingDir: string): Promise<ReferrerContent> {
  const document = await store.writeBytes(a.artifactType, a.bytes);
  await store.writeBytes(EMPTY_DESCRIPTOR.mediaType, EMPTY_JSON);
  const manifest = await store.writeJson(MediaType.ImageManifest, artifactManifest(a.artifactType, document, a.subject.manifest, a.fileName));
  await writeFile(path.join(stagingDir, a.fileName), a.bytes);
  return {descriptor: {...manifest.descriptor, artifactType: a.artifactType}, bytes: manifest.bytes, blobs: [EMPTY_DESCRIPTOR, document], subject: a.subject.manifest};
}

/** Logs what was written where. */
export function logPackage(result: PackageResult, version: string): void {
  for (const p of result.platforms) {
    log.info(`${formatPlatform(p.image.platform)}${p.experimental ? ' (experimental)' : ''}: ${p.image.manifest.digest} -> ${p.cnbFile}`);
  }
  log.info(`Image index ${result.index.digest} in the OCI layout ${result.layout} (oci:${result.layout}:${version})`);
}
