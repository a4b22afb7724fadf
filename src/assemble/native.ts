import type {PlatformBuild} from '../compile/compile.js';
import {binaryCheck, verifyPlatformTree} from '../compile/verify.js';
import {moduleRoot} from '../image/layer-entries.js';
import {buildPlatforms, logBuilds} from '../compile/compile.js';
import {runPrePackage} from '../compile/prepackage.js';
import {chooseStrategy} from '../compile/strategy.js';
import {escapedId, type BuildpackDescriptor} from '../buildpack/descriptor.js';
import {scanTree} from '../buildpack/files.js';
import type {BuildMode} from '../inputs/inputs.js';
import {annotationsAt} from '../inputs/annotations.js';
import {runProcess} from '../util/process.js';
import path from 'node:path';
import type {SourceEntry} from '../buildpack/files.js';
import {checkIncludeFiles, platformTree, type TreeEntry} from '../buildpack/tree.js';
import {renderDescriptor} from '../buildpack/version.js';
import {writeBuildpackImage, type ComponentImage} from '../image/image.js';
import type {BlobStore} from '../oci/store.js';
import {formatPlatform} from '../platform/platform.js';
import type {ImageSource} from '../output/layout.js';
import type {DownloadedDependency} from '../dependencies/download.js';
import {bundledPath, dependenciesFor, describeDependency, filterDependencies} from '../buildpack/dependencies.js';
import * as core from '@actions/core';
import type {ReleasePlan} from '../plan/plan.js';
import {coreCount, mapLimit} from '../util/concurrency.js';

export interface NativeBuild {
  dir: string;
  descriptor: BuildpackDescriptor;
  plan: ReleasePlan;
  work: string;
  /** Directories inside `dir` that are not part of the buildpack (the output, the work dir). */
  skip: string[];
  build: BuildMode;
  buildCommand?: string;
  /** Offline dependencies, already downloading (they overlap the builds). */
  dependencies?: Promise<Map<string, DownloadedDependency>>;
  /** For a composite: its components' images per platform. */
  components?: (store: BlobStore) => Promise<Map<string, ComponentImage[]>>;
}

/**
 * The native packager, for a buildpack and for a family's local components alike: pre-package,
 * then every platform root built, then (offline) the dependencies awaited, all before anything
 * is written to the output.
 */
export async function buildNativeImages(b: NativeBuild): Promise<ImageSource> {
  if (b.descriptor.prePackage) await core.group(`Pre-package ${b.descriptor.id}`, () => runPrePackage(b.descriptor, b.dir, runProcess));
  warnArchlessDependencies(b.descriptor, b.plan);
  const source = scanTree(b.dir, b.skip);
  const strategy = chooseStrategy(b.build, b.buildCommand, source, b.plan.platforms, b.dir, b.descriptor.order !== undefined);
  const builds = await core.group(`Build ${b.descriptor.id} (${strategy.kind})`, async () => {
    const results = await buildPlatforms(strategy, b.dir, b.plan.platforms, path.join(b.work, 'roots-of', escapedId(b.descriptor.id)), runProcess, b.descriptor.kind);
    logBuilds(results);
    return results;
  });
  const bundled = b.dependencies ? await core.group('Dependencies (offline)', () => b.dependencies as Promise<Map<string, DownloadedDependency>>) : undefined;
  return nativeImages(b.descriptor, b.plan, source, builds, bundled, b.components);
}

/**
 * The native packager's images: each platform's files as pack would lay them out, with its own
 * buildpack.toml (only the dependencies for its os/arch, plus those for any) and, offline, its
 * dependencies bundled. Checked (entry points, include-files) before anything is written; binaries as their layer is
 * written (binaryCheck).
 */
export function nativeImages(
  descriptor: BuildpackDescriptor,
  plan: ReleasePlan,
  source: SourceEntry[],
  builds: PlatformBuild[],
  bundled?: Map<string, DownloadedDependency>,
  components?: (store: BlobStore) => Promise<Map<string, ComponentImage[]>>
): ImageSource {
  const isComposite = descriptor.order !== undefined;
  const rendered = renderDescriptor(descriptor, plan.version);
  const trees: TreeEntry[][] = builds.map(b => {
    const deps = dependenciesFor(descriptor.dependencies, b.platform);
    const uris = new Map(bundled ? deps.map(d => [d.index, `file:///${bundledPath(d)}`]) : []);
    const text = filterDependencies(rendered, descriptor.dependencies.length, new Set(deps.map(d => d.index)), uris, descriptor.file);
    const files: SourceEntry[] = bundled
      ? deps.map(d => {
          const download = bundled.get(d.sha256 as string) as DownloadedDependency;
          return {path: bundledPath(d), type: 'file', source: download.file, executable: false, size: download.size};
        })
      : [];
    return platformTree({source, built: b.built, descriptor: text, descriptorName: path.basename(descriptor.file), includeFiles: descriptor.includeFiles, platform: b.platform, bundled: files});
  });
  // Missing entry points first: they explain a missing include-files entry better than it does.
  for (const [i, build] of builds.entries()) verifyPlatformTree(trees[i], build.platform, isComposite || descriptor.kind === 'extension', {binaries: false});
  if (descriptor.includeFiles) checkIncludeFiles(descriptor.includeFiles, trees, plan.platforms, source, descriptor.file);
  return async store => {
    const byPlatform = components ? await components(store) : undefined;
    return mapLimit(builds, coreCount(), (build, i) =>
      writeBuildpackImage(
        {
          descriptor,
          version: plan.version,
          platform: build.platform,
          tree: trees[i],
          created: plan.created,
          format: plan.format,
          components: byPlatform?.get(formatPlatform(build.platform)),
          annotations: annotationsAt(plan.annotationSet, 'manifest', build.platform),
          inspect: binaryCheck(build.platform, moduleRoot(descriptor.kind, descriptor.id, plan.version))
        },
        store
      )
    );
  };
}

/**
 * packit treats a dependency without `arch` as amd64 at build time, so in a multi-platform
 * buildpack such entries probably ship amd64 files to arm64 images: say which.
 */
export function warnArchlessDependencies(descriptor: BuildpackDescriptor, plan: ReleasePlan): void {
  const archless = descriptor.dependencies.filter(d => !d.arch);
  if (plan.platforms.length > 1 && archless.length) {
    core.warning(
      `${descriptor.file} lists dependencies without arch, which go into every platform's image (packit reads a missing arch as amd64): ${archless.map(describeDependency).join(', ')}; add arch = "amd64" or "arm64" to each, or confirm they are architecture-independent.`
    );
  }
}
