import type { PlatformBuild } from '../build/build.js';
import { verifyPlatformTree } from '../build/verify.js';
import type { BuildpackDescriptor } from '../buildpack/descriptor.js';
import type { SourceEntry } from '../buildpack/files.js';
import { checkIncludeFiles, platformTree, type TreeEntry } from '../buildpack/tree.js';
import { renderDescriptor } from '../buildpack/version.js';
import { writeBuildpackImage, type PlatformImage } from '../image/image.js';
import type { BlobStore } from '../oci/store.js';
import type { ReleasePlan } from '../plan/plan.js';
import { coreCount, mapLimit } from '../util/concurrency.js';

/**
 * The native packager's images: each platform's files as pack would lay them out, checked
 * (entry points, binaries, include-files) before anything is written.
 */
export async function nativeImages(descriptor: BuildpackDescriptor, plan: ReleasePlan, source: SourceEntry[], builds: PlatformBuild[]): Promise<(store: BlobStore) => Promise<PlatformImage[]>> {
  const isComposite = descriptor.order !== undefined;
  const rendered = renderDescriptor(descriptor, plan.version);
  const trees: TreeEntry[][] = builds.map((b) =>
    platformTree({ source, built: b.built, descriptor: rendered, includeFiles: descriptor.includeFiles, platform: b.platform }),
  );
  // Missing entry points first: they explain a missing include-files entry better than it does.
  for (const [i, build] of builds.entries()) await verifyPlatformTree(trees[i], build.platform, isComposite);
  if (descriptor.includeFiles) checkIncludeFiles(descriptor.includeFiles, trees, plan.platforms, source, descriptor.file);
  return (store) =>
    mapLimit(builds, coreCount(), (build, i) =>
      writeBuildpackImage({ descriptor, version: plan.version, platform: build.platform, tree: trees[i], created: plan.created, format: plan.format }, store),
    );
}
