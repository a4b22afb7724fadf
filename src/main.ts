import * as core from '@actions/core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildPlatforms } from './build/build.js';
import { chooseStrategy } from './build/strategy.js';
import { readDescriptor } from './buildpack/descriptor.js';
import { scanTree } from './buildpack/files.js';
import { getInputs } from './inputs/inputs.js';
import { checkOutput } from './package/output.js';
import { describePlatform, packageBuildpack } from './package/package.js';
import { planRelease } from './plan/plan.js';
import { formatPlatform } from './platform/platform.js';
import { cnbFiles, manifestRecords, setOutputs, type RunMetadata } from './report/outputs.js';
import { writeSummary } from './report/summary.js';
import { InputError, errorMessage } from './util/errors.js';
import { runProcess } from './util/process.js';
import { publishContent } from './package/content.js';
import { retryStats } from './registry/http.js';
import { publish } from './registry/publish.js';
import { formatReference, repositoryName } from './registry/reference.js';
import { openRegistries } from './registry/session.js';

/** The action: read inputs, build every platform, package, report. Each phase in a log group. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const inputs = getInputs();
    const descriptor = await core.group('Read buildpack', async () => {
      const d = await readDescriptor(inputs.path);
      core.info(`${d.id} from ${d.file}`);
      return d;
    });
    const plan = planRelease(inputs, descriptor, env);
    core.info(`Version ${plan.version}; platforms ${plan.platforms.map(formatPlatform).join(', ')}`);
    await checkOutput(inputs.output, inputs.path);

    const work = await mkdtemp(path.join(env.RUNNER_TEMP || tmpdir(), 'multiarch-buildpack-work-'));
    try {
      const source = await scanTree(inputs.path, [inputs.output, work]);
      const strategy = chooseStrategy(inputs.build, inputs.buildCommand, source, plan.platforms, inputs.path, descriptor.order !== undefined);
      const builds = await core.group(`Build (${strategy.kind})`, async () => {
        const results = await buildPlatforms(strategy, inputs.path, plan.platforms, work, runProcess);
        for (const b of results) {
          core.info(`${formatPlatform(b.platform)}: ${b.built.filter((e) => e.type !== 'directory').length} files built`);
          if (b.log.trim()) core.info(b.log.trimEnd());
        }
        return results;
      });
      const result = await core.group('Package', async () => {
        const r = await packageBuildpack({ descriptor, plan, source, builds, output: inputs.output });
        for (const p of r.platforms) core.info(`${describePlatform(p)}: ${p.image.manifest.digest} -> ${p.cnbFile}`);
        core.info(`Image index ${r.index.digest} in the OCI layout ${r.layout} (oci:${r.layout}:${plan.version})`);
        return r;
      });
      const published = await core.group('Publish', async () => {
        if (!plan.tags.length) {
          core.info('No tags: packaged only.');
          return undefined;
        }
        if (!inputs.push) {
          core.info(`Dry run (push: false): would publish ${result.index.digest} to ${plan.tags.map(formatReference).join(', ')}.`);
          return undefined;
        }
        const clients = await openRegistries(plan.tags, inputs, env);
        const r = await publish(await publishContent(result), plan.tags, clients);
        core.info(`Uploaded ${r.stats.uploaded} blobs (${r.stats.bytesUploaded} bytes), mounted ${r.stats.mounted}, ${r.stats.existing} already present; ${retryStats.retries} retries.`);
        return r;
      });
      const metadata: RunMetadata = {
        id: descriptor.id,
        version: plan.version,
        digest: result.index.digest,
        mediaType: result.index.mediaType,
        size: result.index.size,
        layout: result.layout,
        manifests: manifestRecords(result),
        'cnb-files': cnbFiles(result),
        annotations: plan.annotations,
        image: plan.tags.length ? `${repositoryName(plan.tags[0])}@${result.index.digest}` : undefined,
        tags: published?.tags ?? [],
        push: published ? { ...published.stats, retries: retryStats.retries } : undefined,
      };
      setOutputs(metadata);
      await writeSummary(metadata);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  } catch (error) {
    fail(error);
  }
}

/** One sentence via setFailed; the stack only when debug logging is on. */
export function fail(error: unknown): void {
  const message = errorMessage(error);
  const [sentence, ...details] = message.split('\n');
  if (details.length) core.info(details.join('\n'));
  core.setFailed(error instanceof InputError ? sentence : `Internal error: ${sentence}`);
  if (core.isDebug() && error instanceof Error && error.stack) core.debug(error.stack);
}
