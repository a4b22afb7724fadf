import * as core from '@actions/core';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {dependenciesFor} from '../buildpack/dependencies.js';
import {readDescriptor, type BuildpackDescriptor} from '../buildpack/descriptor.js';
import {saveInPostStep} from '../cache/actions-cache.js';
import {resolveComponents} from '../composite/composite.js';
import {readPackageConfig, type PackageConfig} from '../composite/package-toml.js';
import {downloadDependencies, type DownloadedDependency} from '../dependencies/download.js';
import type {Inputs} from '../inputs/inputs.js';
import {annotationsAt} from '../inputs/annotations.js';
import {checkOutput} from '../output/staging.js';
import {logPackage, packageBuildpack, type ImageSource, type PackageResult} from '../output/layout.js';
import {buildNativeImages} from '../assemble/native.js';
import {packImages, packageWithPack} from '../assemble/pack.js';
import {planRelease, type ReleasePlan} from '../plan/plan.js';
import {formatPlatform} from '../platform/platform.js';
import {loginOf, openRegistries, type PublishReport, type Registries} from '../publish/registries.js';
import type {Logger} from '../registry/client.js';
import {formatReference, repositoryName} from '../registry/reference.js';
import {sbomAttachments} from '../sbom/attach.js';
import {publish} from '../registry/write.js';
import {runMetadata, setOutputs} from '../report/outputs.js';
import {RunProgress} from '../report/progress.js';
import {writeSummary} from '../report/summary.js';
import {smokeTest, type SmokeResult} from '../smoke/smoke-test.js';
import type {InstalledTool} from '../tools/install.js';
import {installTools} from '../tools/tools.js';
import {cancellation, releaseTemporary, throwIfCancelled, trackTemporary} from '../util/cancel.js';
import {runProcess} from '../util/process.js';
import {writeReleaseAssets} from '../output/assets.js';
import {checkExpectedDigest} from '../publish/expected.js';
import * as log from '../util/log.js';

/**
 * mode: all (and package): read and check everything first (inputs, buildpack.toml, tags,
 * output), then build every platform, package them into one index, smoke-test, publish, report.
 * With mode: package, blobs and manifests are pushed by digest and no tag is written.
 */
export async function runRelease(inputs: Inputs, env: NodeJS.ProcessEnv, progress: RunProgress = new RunProgress()): Promise<void> {
  const descriptor = await progress.step('Read buildpack', () => readDescriptor(inputs.path));
  const packageConfig = descriptor.order ? await readPackageConfig(inputs.path, descriptor.file) : undefined;
  progress.stage = 'Plan';
  const plan = planRelease(inputs, descriptor, env, packageConfig);
  progress.module = {id: descriptor.id, version: plan.version};
  progress.tagsPlanned = inputs.push && inputs.mode !== 'package' ? plan.tags.length : 0;
  log.info(`${descriptor.id} ${plan.version} for ${plan.platforms.map(formatPlatform).join(', ')}`);
  const runnerTemp = path.resolve(env.RUNNER_TEMP || tmpdir());
  await checkOutput(inputs.output, {buildpackDir: inputs.path, runnerTemp});
  const installed = plan.tools.length ? await progress.step('Install tools', () => installTools(plan.tools, {mirror: inputs.toolsDownloadBaseUrl, useActionsCache: inputs.cache, saveToActionsCache: inputs.cacheSave, env})) : [];
  const clients = await openClients(inputs, plan, packageConfig, env, progress);

  const work = await mkdtemp(path.join(runnerTemp, 'multiarch-buildpack-work-'));
  trackTemporary(work);
  try {
    // Resolved (and local ones built) in every mode: a dry run ships what a publish ships.
    progress.stage = 'Build';
    const components = packageConfig ? await resolveComponents(packageConfig, descriptor, plan, clients, work) : undefined;
    const images =
      inputs.packager === 'pack'
        ? await packWithTools(inputs, descriptor, plan, work, installed)
        : await buildNativeImages({
            dir: inputs.path,
            descriptor,
            plan,
            work,
            skip: [inputs.output, work, runnerTemp],
            build: inputs.build,
            buildCommand: inputs.buildCommand,
            dependencies: inputs.offline ? startDownloads(inputs, descriptor, plan, env) : undefined,
            components: components?.images
          });
    const result = await progress.step('Package', async () => {
      const attachments = inputs.sbom ? sbomAttachments({descriptor, version: plan.version, repository: plan.tags[0] ? repositoryName(plan.tags[0]) : undefined, created: sourceDate(env), warn: message => core.warning(message)}) : undefined;
      const packaged = await packageBuildpack({descriptor, plan, output: inputs.output, images, attachments});
      logPackage(packaged, plan.version);
      return packaged;
    });
    // The .cnb files are only copies of blobs on disk: write them while the registry is busy.
    const cnbFiles = result.writeCnbFiles();
    cnbFiles.catch(() => undefined); // awaited below, also when a later step fails
    let published: PublishReport | undefined;
    let smoke: SmokeResult[] = [];
    let failure: {error: unknown} | undefined;
    try {
      checkExpectedDigest(result.index.digest, inputs.expectedDigest);
      if (inputs.smokeCommand) await cnbFiles; // smoke-command gets a .cnb as IMAGE
      throwIfCancelled();
      progress.stage = 'Smoke test';
      smoke = await smokeRelease(inputs, descriptor, plan, result, work);
      throwIfCancelled();
      published = await progress.step('Publish', () => {
        progress.contentSent = inputs.push && plan.tags.length > 0;
        return publishPackaged(result, plan, {push: inputs.push, tag: inputs.mode !== 'package', logger: progress.logger()}, clients, components?.sources);
      });
    } catch (error) {
      failure = {error};
    }
    let assets: string[] = [];
    const written = await cnbFiles
      .then(
        async () => {
          if (inputs.assetName) assets = await writeReleaseAssets(result, inputs.assetName);
          return true;
        },
        (error: unknown) => {
          failure ??= {error};
          return false;
        }
      )
      .catch((error: unknown) => {
        failure ??= {error};
        return false;
      });
    // A complete layout is kept even when the smoke test or the publish failed (it can be
    // published later); a cancelled run, or one whose files could not all be written, leaves
    // `output` as it was.
    if (written && !cancellation.aborted) await result.commit();
    else await result.discard();
    if (failure) throw failure.error;
    const metadata = {...runMetadata(descriptor, plan, result, published, installed, smoke), assets};
    setOutputs(metadata);
    await writeSummary(metadata, inputs.summary);
  } finally {
    await rm(work, {recursive: true, force: true});
    releaseTemporary(work);
  }
}

/**
 * Publishes the packaged layout to the plan's tags, unless there are none or this is a dry run
 * (push: false), in which case nothing is sent. With mode: package (`tag: false`), only blobs
 * and manifests go up, by digest, and no tag is written. Undefined when nothing was published.
 */
async function publishPackaged(
  result: PackageResult,
  plan: Pick<ReleasePlan, 'tags'>,
  options: {push: boolean; tag: boolean; logger: Logger},
  registries: Registries | undefined,
  mountSources?: Map<string, {registry: string; repository: string}>
): Promise<PublishReport | undefined> {
  if (!plan.tags.length) {
    log.info('No tags: packaged only.');
    return undefined;
  }
  if (!options.push) {
    log.info(`Dry run (push: false): would publish ${result.index.digest} to ${plan.tags.map(formatReference).join(', ')}.`);
    return undefined;
  }
  if (!registries) throw new Error('publishing without registry clients');
  // The exact bytes that were hashed, read back from the finished layout.
  const store = result.store;
  const manifests = await Promise.all(result.platforms.map(async p => ({descriptor: p.image.manifest, bytes: await readFile(store.blobPath(p.image.manifest.digest)), blobs: [p.image.config, ...p.image.layers]})));
  const index = options.tag ? {descriptor: result.index, bytes: await readFile(store.blobPath(result.index.digest))} : undefined;
  const published = await publish({store, manifests, index, mountSources, referrers: result.referrers}, plan.tags, registries, options.logger);
  if (!options.tag) log.info('mode: package: manifests pushed by digest, no tag written; run mode: merge with the manifests outputs.');
  const {stats} = published;
  const {requests, retries} = registries.stats();
  log.info(`Uploaded ${stats.uploaded} blobs (${stats.bytesUploaded} bytes), mounted ${stats.mounted}, ${stats.existing} already present; ${requests} requests, ${retries} retries.`);
  return {...published, requests, retries};
}

/** The smoke test of the packaged images, when asked for; a composite has no binaries of its own. */
async function smokeRelease(inputs: Inputs, descriptor: BuildpackDescriptor, plan: ReleasePlan, result: PackageResult, work: string): Promise<SmokeResult[]> {
  if (inputs.smokeTest === 'none' && !inputs.smokeCommand) return [];
  if (descriptor.order && !inputs.smokeCommand) {
    log.info('Smoke test skipped: a composite has no binaries of its own; smoke-test its components, or give a smoke-command.');
    return [];
  }
  const subjects = result.platforms.map(p => ({
    platform: p.image.platform,
    layers: p.image.layers,
    digest: p.image.manifest.digest,
    image: p.stagedCnbFile,
    experimental: p.experimental
  }));
  return smokeTest(subjects, result.store, {
    mode: inputs.smokeTest === 'none' ? 'emulated' : inputs.smokeTest,
    app: inputs.smokeApp,
    command: inputs.smokeCommand,
    id: descriptor.id,
    version: plan.version,
    api: descriptor.api,
    kind: descriptor.kind,
    scratch: work
  });
}

/** Offline dependencies, started now so they download while the platforms build. */
function startDownloads(inputs: Inputs, descriptor: BuildpackDescriptor, plan: ReleasePlan, env: NodeJS.ProcessEnv): Promise<Map<string, DownloadedDependency>> {
  const needed = plan.platforms.flatMap(p => dependenciesFor(descriptor.dependencies, p));
  const downloads = downloadDependencies(needed, path.join(env.RUNNER_TEMP || tmpdir(), 'multiarch-buildpack-dependencies'), inputs.cache, descriptor.file).then(bundled => {
    if (inputs.cache && inputs.cacheSave) saveInPostStep([...bundled.values()].flatMap(d => (d.cache ? [d.cache] : [])));
    return bundled;
  });
  downloads.catch(() => undefined); // awaited by the packager; a failed build first must not leave it unhandled
  return downloads;
}

/**
 * Registry clients, opened once and shared by the component reads and the publish: the tags'
 * registries when pushing, a composite's component registries always.
 */
async function openClients(inputs: Inputs, plan: ReleasePlan, packageConfig: PackageConfig | undefined, env: NodeJS.ProcessEnv, progress: RunProgress): Promise<Registries | undefined> {
  const registries = new Set<string>(inputs.push ? plan.tags.map(t => t.registry) : []);
  for (const c of packageConfig?.components ?? []) if (c.kind === 'image') registries.add(c.ref.registry);
  if (!registries.size) return undefined;
  return progress.step('Registries', () => openRegistries([...registries], loginOf(inputs, plan.tags[0]?.registry), env));
}

/** jam pack, then pack buildpack package per platform, with the installed tools. */
async function packWithTools(inputs: Inputs, descriptor: BuildpackDescriptor, plan: ReleasePlan, work: string, installed: InstalledTool[]): Promise<ImageSource> {
  const tool = (name: string): string => installed.find(t => t.name === name)?.path ?? name;
  const outputs = await core.group('Build and package with jam and pack', () =>
    packageWithPack({dir: inputs.path, descriptor, version: plan.version, platforms: plan.platforms, work, jam: tool('jam'), pack: tool('pack'), offline: inputs.offline, run: runProcess})
  );
  return packImages(outputs, plan.format, work, platform => annotationsAt(plan.annotationSet, 'manifest', platform));
}

/** SOURCE_DATE_EPOCH as a date: the only time an SBOM records (checked already by the plan). */
function sourceDate(env: NodeJS.ProcessEnv): Date | undefined {
  const epoch = env.SOURCE_DATE_EPOCH?.trim();
  return epoch ? new Date(Number(epoch) * 1000) : undefined;
}
