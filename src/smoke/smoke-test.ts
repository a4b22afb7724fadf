import * as core from '@actions/core';
import {createReadStream} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import path from 'node:path';
import {escapedId, type ModuleKind} from '../buildpack/descriptor.js';
import type {BlobStore} from '../oci/store.js';
import {formatPlatform, samePlatform, type Platform} from '../platform/platform.js';
import {extractArchive} from '../util/archive.js';
import {UserError} from '../util/errors.js';
import {childEnv, lastLine, runProcess, stoppedBy} from '../util/process.js';
import {runBuildpack, runnerPlatform} from './runner.js';
import * as log from '../util/log.js';

export type SmokeMode = 'none' | 'emulated' | 'native';

/** One platform to smoke-test: its image in a store, and how to describe it to a custom command. */
export interface SmokeSubject {
  platform: Platform;
  layers: {digest: string; mediaType: string}[];
  digest: string;
  /** What IMAGE means to smoke-command: the platform's .cnb, or its reference in a registry. */
  image: string;
  experimental: boolean;
}

export interface SmokeOptions {
  mode: SmokeMode;
  app?: string;
  command?: string;
  id: string;
  version: string;
  api: string;
  /** A buildpack, or an image extension (bin/detect, then bin/generate). */
  kind?: ModuleKind;
  scratch: string;
}

export interface SmokeResult {
  platform: Platform;
  status: 'passed' | 'failed' | 'skipped';
  experimental: boolean;
  summary: string;
}

/**
 * Smoke-tests every platform, each in its own log group: the built-in lifecycle run (natively
 * for the runner's platform, under qemu-user for the others with `emulated`) or smoke-command.
 * A failing non-experimental platform fails the step, before any tag is written; a failing
 * experimental one is a warning naming it, and the release goes on.
 */
export async function smokeTest(subjects: SmokeSubject[], store: BlobStore, options: SmokeOptions): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  for (const subject of subjects) {
    const name = formatPlatform(subject.platform);
    const native = samePlatform(subject.platform, runnerPlatform());
    if (options.mode === 'native' && !native && !options.command) {
      log.info(`Smoke test of ${name} skipped: smoke-test: native runs only the runner's own platform (${formatPlatform(runnerPlatform())}).`);
      results.push({platform: subject.platform, status: 'skipped', experimental: subject.experimental, summary: "not this runner's platform"});
      continue;
    }
    const outcome = await core.group(`Smoke test ${name}${subject.experimental ? ' (experimental)' : ''}`, async () => {
      if (options.command) return runCommand(subject, options);
      return runBuiltIn(subject, store, options, native);
    });
    results.push({platform: subject.platform, status: outcome.passed ? 'passed' : 'failed', experimental: subject.experimental, summary: outcome.summary});
    if (!outcome.passed) {
      if (!subject.experimental) {
        throw new UserError(`The smoke test of ${name} failed: ${outcome.summary}; nothing was tagged, so fix the ${name} buildpack (its output is above) or mark ${subject.platform.architecture} experimental.`);
      }
      core.warning(`The smoke test of the experimental platform ${name} failed (${outcome.summary}); publishing anyway, as experimental platforms do not block the release.`);
    }
  }
  return results;
}

async function runBuiltIn(subject: SmokeSubject, store: BlobStore, options: SmokeOptions, native: boolean): Promise<{passed: boolean; summary: string}> {
  if (!options.app) throw new Error('smoke test without an app');
  const root = await mkdtemp(path.join(options.scratch, 'smoke-image-'));
  try {
    // Test what ships: the image's layers, unpacked, not the files they were made from.
    for (const layer of subject.layers) {
      // A layer's names are rooted at /: pack writes them with the leading slash.
      await extractArchive(createReadStream(store.blobPath(layer.digest)), root, {archive: `layer ${layer.digest}`, leadingSlashAllowed: () => true});
    }
    const kind = options.kind ?? 'buildpack';
    const buildpackDir = path.join(root, 'cnb', `${kind}s`, escapedId(options.id), options.version);
    log.info(`Running ${formatPlatform(subject.platform)} ${native ? 'natively' : 'under qemu-user'} against ${options.app}`);
    const run = await runBuildpack(buildpackDir, options.app, subject.platform, options.api, kind);
    log.info(`bin/detect (exit ${run.detect.exitCode}${stoppedBy(run.detect)}):\n${run.detect.output.trimEnd()}`);
    if (run.build) log.info(`bin/${run.phase ?? 'build'} (exit ${run.build.exitCode}${stoppedBy(run.build)}):\n${run.build.output.trimEnd()}`);
    log.info(run.summary);
    return run;
  } finally {
    await rm(root, {recursive: true, force: true});
  }
}

async function runCommand(subject: SmokeSubject, options: SmokeOptions): Promise<{passed: boolean; summary: string}> {
  const env = childEnv({
    IMAGE: subject.image,
    DIGEST: subject.digest,
    TARGET_OS: subject.platform.os,
    TARGET_ARCH: subject.platform.architecture,
    TARGET_VARIANT: subject.platform.variant ?? ''
  });
  const result = await runProcess('bash', ['-e', '-o', 'pipefail', '-c', options.command as string], {cwd: options.app, env});
  const output = `${result.stdout}${result.stderr}`.trimEnd();
  if (output) log.info(output);
  return result.exitCode === 0 ? {passed: true, summary: 'smoke-command passed'} : {passed: false, summary: `smoke-command exited ${result.exitCode}${stoppedBy(result)}: ${lastLine(result) || 'no output'}`};
}
