import * as core from '@actions/core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildPlatforms, logBuilds } from './build/build.js';
import { chooseStrategy } from './build/strategy.js';
import { readDescriptor } from './buildpack/descriptor.js';
import { scanTree } from './buildpack/files.js';
import { getInputs } from './inputs/inputs.js';
import { checkOutput } from './package/output.js';
import { logPackage, packageBuildpack } from './package/package.js';
import { planRelease } from './plan/plan.js';
import { formatPlatform } from './platform/platform.js';
import { publishRelease } from './publish/release.js';
import { runMetadata, setOutputs } from './report/outputs.js';
import { writeSummary } from './report/summary.js';
import { InputError, errorMessage } from './util/errors.js';
import { runProcess } from './util/process.js';

/**
 * The action: read and check everything first (inputs, buildpack.toml, tags, output), then build
 * every platform, package them into one index, publish it, report. Each phase is a log group.
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const inputs = getInputs();
    const descriptor = await core.group('Read buildpack', () => readDescriptor(inputs.path));
    const plan = planRelease(inputs, descriptor, env);
    core.info(`${descriptor.id} ${plan.version} for ${plan.platforms.map(formatPlatform).join(', ')}`);
    await checkOutput(inputs.output, inputs.path);

    const work = await mkdtemp(path.join(env.RUNNER_TEMP || tmpdir(), 'multiarch-buildpack-work-'));
    try {
      const source = await scanTree(inputs.path, [inputs.output, work]);
      const strategy = chooseStrategy(inputs.build, inputs.buildCommand, source, plan.platforms, inputs.path, descriptor.order !== undefined);
      const builds = await core.group(`Build (${strategy.kind})`, async () => {
        const results = await buildPlatforms(strategy, inputs.path, plan.platforms, work, runProcess);
        logBuilds(results);
        return results;
      });
      const result = await core.group('Package', async () => {
        const packaged = await packageBuildpack({ descriptor, plan, source, builds, output: inputs.output });
        logPackage(packaged, plan.version);
        return packaged;
      });
      const published = await core.group('Publish', () => publishRelease(result, plan, inputs, env));
      const metadata = runMetadata(descriptor, plan, result, published);
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
