import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildpackDescriptor } from '../buildpack/descriptor.js';
import { cnbFileName, writeCnb } from '../image/cnb.js';
import type { PlatformImage } from '../image/image.js';
import { imageIndex } from '../oci/index.js';
import { writeLayoutFiles } from '../oci/layout.js';
import { BlobStore } from '../oci/store.js';
import { mediaTypes, type Descriptor } from '../oci/types.js';
import type { ReleasePlan } from '../plan/plan.js';
import { formatPlatform, samePlatform } from '../platform/platform.js';
import { commitStaging, createStaging } from './output.js';
import * as log from '../util/log.js';

export const EXPERIMENTAL_ANNOTATION = 'io.paketo.experimental';

export interface PackagedPlatform {
  image: PlatformImage;
  experimental: boolean;
  cnbFile: string;
}

export interface PackageResult {
  index: Descriptor;
  platforms: PackagedPlatform[];
  layout: string;
}

export interface PackageRequest {
  descriptor: BuildpackDescriptor;
  plan: ReleasePlan;
  output: string;
  images: ImageSource;
}

/** Writes every platform's image into the store, in plan order (the native or the pack packager). */
export type ImageSource = (store: BlobStore) => Promise<PlatformImage[]>;

/**
 * Turns platform images into the output: the images, one image index over them, and an OCI
 * layout naming the index by version, written to a staging directory first and moved into
 * `output` whole, so a failure leaves `output` as it was. The .cnb files, copies of blobs
 * already on disk, are written by `writeCnbFiles`, which the caller overlaps with publishing.
 */
export async function packageBuildpack(request: PackageRequest): Promise<PackageResult & { writeCnbFiles: () => Promise<void> }> {
  const { descriptor, plan } = request;
  const staging = await createStaging(request.output);
  let result: PackageResult;
  try {
    const store = new BlobStore(staging);
    const images = await request.images(store);
    const platforms: PackagedPlatform[] = images.map((image) => ({
      image,
      experimental: plan.experimental.some((e) => samePlatform(e, image.platform)),
      cnbFile: path.join(request.output, cnbFileName(descriptor.id, plan.version, image)),
    }));
    const index = imageIndex(
      mediaTypes(plan.format).index,
      platforms.map((p) => ({
        manifest: p.image.manifest,
        platform: p.image.platform,
        annotations: p.experimental ? { [EXPERIMENTAL_ANNOTATION]: 'true' } : undefined,
      })),
      plan.annotations,
    );
    const indexBlob = await store.writeJson(index.mediaType, index);
    await writeLayoutFiles(staging, indexBlob.descriptor, plan.version);
    await commitStaging(staging, request.output);
    result = { index: indexBlob.descriptor, platforms, layout: request.output };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  const store = new BlobStore(request.output);
  return {
    ...result,
    // Side by side; each written under a temporary name and renamed, so none is ever partial.
    writeCnbFiles: async () => {
      await Promise.all(result.platforms.map((p) => writeCnb(p.cnbFile, p.image, store)));
    },
  };
}

/** Logs what was written where. */
export function logPackage(result: PackageResult, version: string): void {
  for (const p of result.platforms) {
    log.info(`${formatPlatform(p.image.platform)}${p.experimental ? ' (experimental)' : ''}: ${p.image.manifest.digest} -> ${p.cnbFile}`);
  }
  log.info(`Image index ${result.index.digest} in the OCI layout ${result.layout} (oci:${result.layout}:${version})`);
}
