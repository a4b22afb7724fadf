import type { PlatformBuild } from '../build/build.js';
import { verifyPlatformTree } from '../build/verify.js';
import type { BuildpackDescriptor } from '../buildpack/descriptor.js';
import type { SourceEntry } from '../buildpack/files.js';
import { checkIncludeFiles, platformTree, type TreeEntry } from '../buildpack/tree.js';
import { renderDescriptor } from '../buildpack/version.js';
import { writeBuildpackImage, type ComponentImage } from '../image/image.js';
import type { BlobStore } from '../oci/store.js';
import { formatPlatform } from '../platform/platform.js';
import type { ImageSource } from '../package/package.js';
import type { DownloadedDependency } from '../dependencies/download.js';
import { bundledPath, dependenciesFor, describeDependency, filterDependencies } from '../buildpack/dependencies.js';
import * as core from '@actions/core';
import type { ReleasePlan } from '../plan/plan.js';
import { coreCount, mapLimit } from '../util/concurrency.js';

/**
 * The native packager's images: each platform's files as pack would lay them out, with its own
 * buildpack.toml (only the dependencies for its os/arch, plus those for any) and, offline, its
 * dependencies bundled. Checked (entry points, binaries, include-files) before anything is written.
 */
export async function nativeImages(
  descriptor: BuildpackDescriptor,
  plan: ReleasePlan,
  source: SourceEntry[],
  builds: PlatformBuild[],
  bundled?: Map<string, DownloadedDependency>,
  components?: (store: BlobStore) => Promise<Map<string, ComponentImage[]>>,
): Promise<ImageSource> {
  const isComposite = descriptor.order !== undefined;
  const rendered = renderDescriptor(descriptor, plan.version);
  const trees: TreeEntry[][] = builds.map((b) => {
    const deps = dependenciesFor(descriptor.dependencies, b.platform);
    const uris = new Map(bundled ? deps.map((d) => [d.index, `file:///${bundledPath(d)}`]) : []);
    const text = filterDependencies(rendered, descriptor.dependencies.length, new Set(deps.map((d) => d.index)), uris, descriptor.file);
    const files: SourceEntry[] = bundled
      ? deps.map((d) => {
          const download = bundled.get(d.sha256 as string) as DownloadedDependency;
          return { path: bundledPath(d), type: 'file', source: download.file, executable: false, size: download.size };
        })
      : [];
    return platformTree({ source, built: b.built, descriptor: text, includeFiles: descriptor.includeFiles, platform: b.platform, bundled: files });
  });
  // Missing entry points first: they explain a missing include-files entry better than it does.
  for (const [i, build] of builds.entries()) await verifyPlatformTree(trees[i], build.platform, isComposite);
  if (descriptor.includeFiles) checkIncludeFiles(descriptor.includeFiles, trees, plan.platforms, source, descriptor.file);
  return async (store) => {
    const byPlatform = components ? await components(store) : undefined;
    return mapLimit(builds, coreCount(), (build, i) =>
      writeBuildpackImage(
        { descriptor, version: plan.version, platform: build.platform, tree: trees[i], created: plan.created, format: plan.format, components: byPlatform?.get(formatPlatform(build.platform)) },
        store,
      ),
    );
  };
}

/**
 * packit treats a dependency without `arch` as amd64 at build time, so in a multi-platform
 * buildpack such entries probably ship amd64 files to arm64 images: say which.
 */
export function warnArchlessDependencies(descriptor: BuildpackDescriptor, plan: ReleasePlan): void {
  const archless = descriptor.dependencies.filter((d) => !d.arch);
  if (plan.platforms.length > 1 && archless.length) {
    core.warning(
      `${descriptor.file} lists dependencies without arch, which go into every platform's image (packit reads a missing arch as amd64): ${archless.map(describeDependency).join(', ')}; add arch = "amd64" or "arm64" to each, or confirm they are architecture-independent.`,
    );
  }
}
