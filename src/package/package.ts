import * as core from '@actions/core';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PlatformBuild } from '../build/build.js';
import { verifyPlatformTree } from '../build/verify.js';
import type { BuildpackDescriptor } from '../buildpack/descriptor.js';
import type { SourceEntry } from '../buildpack/files.js';
import { checkIncludeFiles, platformTree, type TreeEntry } from '../buildpack/tree.js';
import { renderDescriptor } from '../buildpack/version.js';
import { cnbFileName, writeCnb } from '../image/cnb.js';
import { writeBuildpackImage, type PlatformImage } from '../image/image.js';
import { imageIndex } from '../oci/index.js';
import { writeLayoutFiles } from '../oci/layout.js';
import { BlobStore } from '../oci/store.js';
import { mediaTypes, type Descriptor } from '../oci/types.js';
import type { ReleasePlan } from '../plan/plan.js';
import { formatPlatform, samePlatform } from '../platform/platform.js';
import { coreCount, mapLimit } from '../util/concurrency.js';
import { commitStaging, createStaging } from './output.js';

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
  source: SourceEntry[];
  builds: PlatformBuild[];
  output: string;
}

/**
 * Turns built platform roots into the output: one image per platform, one image index over
 * them, an OCI layout naming the index by version, and a .cnb per platform. Everything is
 * written to a staging directory first, so a failure leaves `output` as it was.
 */
export async function packageBuildpack(request: PackageRequest): Promise<PackageResult> {
  const { descriptor, plan } = request;
  const isComposite = descriptor.order !== undefined;
  const rendered = renderDescriptor(descriptor, plan.version);
  const trees: TreeEntry[][] = request.builds.map((b) =>
    platformTree({ source: request.source, built: b.built, descriptor: rendered, includeFiles: descriptor.includeFiles, platform: b.platform }),
  );
  // Missing entry points first: they explain a missing include-files entry better than it does.
  for (const [i, build] of request.builds.entries()) await verifyPlatformTree(trees[i], build.platform, isComposite);
  if (descriptor.includeFiles) {
    checkIncludeFiles(descriptor.includeFiles, trees, plan.platforms, request.source, descriptor.file);
  }

  const staging = await createStaging(request.output);
  try {
    const store = new BlobStore(staging);
    const images = await mapLimit(request.builds, coreCount(), (build, i) =>
      writeBuildpackImage({ descriptor, version: plan.version, platform: build.platform, tree: trees[i], created: plan.created, format: plan.format }, store),
    );
    const platforms: PackagedPlatform[] = [];
    for (const image of images) {
      const cnbFile = cnbFileName(descriptor.id, plan.version, image);
      await writeCnb(path.join(staging, cnbFile), image, store);
      platforms.push({
        image,
        experimental: plan.experimental.some((e) => samePlatform(e, image.platform)),
        cnbFile: path.join(request.output, cnbFile),
      });
    }
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
    return { index: indexBlob.descriptor, platforms, layout: request.output };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Logs what was written where. */
export function logPackage(result: PackageResult, version: string): void {
  for (const p of result.platforms) {
    core.info(`${formatPlatform(p.image.platform)}${p.experimental ? ' (experimental)' : ''}: ${p.image.manifest.digest} -> ${p.cnbFile}`);
  }
  core.info(`Image index ${result.index.digest} in the OCI layout ${result.layout} (oci:${result.layout}:${version})`);
}
