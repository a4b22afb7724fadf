import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import {scanTree, type SourceEntry} from '../buildpack/files.js';
import {platformRoot} from '../buildpack/tree.js';
import {formatPlatform, goEnvironment, type Platform} from '../platform/platform.js';
import {mapLimit, coreCount} from '../util/concurrency.js';
import {UserError} from '../util/errors.js';
import {ProcessError, childEnv, lastLine, stoppedBy, type ProcessResult, type ProcessRunner} from '../util/process.js';
import {goBuild} from './go.js';
import type {BuildStrategy} from './strategy.js';
import type {ModuleKind} from '../buildpack/descriptor.js';
import * as log from '../util/log.js';

export interface PlatformBuild {
  platform: Platform;
  /** Files the build produced, relative to the platform root. */
  built: SourceEntry[];
  /** What the build printed, to show in the log. */
  log: string;
}

/**
 * Builds every platform into its own root under `workDir`, in parallel up to the core count.
 * A failure names the platform and the tool's last line of output.
 */
export async function buildPlatforms(strategy: BuildStrategy, dir: string, platforms: Platform[], workDir: string, run: ProcessRunner, kind: ModuleKind = 'buildpack'): Promise<PlatformBuild[]> {
  return mapLimit(platforms, coreCount(), async platform => {
    const outRoot = path.join(workDir, 'roots', platformRoot(platform));
    await mkdir(outRoot, {recursive: true});
    const results = await runBuild(strategy, dir, platform, outRoot, run, kind);
    const log = results.map(r => `${r.stdout}${r.stderr}`).join('');
    const failed = results.find(r => r.exitCode !== 0);
    if (failed) {
      const what = strategy.kind === 'go' ? 'go build' : 'build-command';
      throw new UserError(`${what} failed for ${formatPlatform(platform)} (exit code ${failed.exitCode}${stoppedBy(failed)}): ${lastLine(failed) || 'no output'}; fix the build and run again.`, {details: log});
    }
    return {platform, built: scanTree(outRoot, [], false), log};
  });
}

/** Logs each platform's build, one block at a time (the builds ran in parallel). */
export function logBuilds(builds: PlatformBuild[]): void {
  for (const b of builds) {
    log.info(`${formatPlatform(b.platform)}: ${b.built.filter(e => e.type !== 'directory').length} files built`);
    if (b.log.trim()) log.info(b.log.trimEnd());
  }
}

async function runBuild(strategy: BuildStrategy, dir: string, platform: Platform, outRoot: string, run: ProcessRunner, kind: ModuleKind): Promise<ProcessResult[]> {
  try {
    switch (strategy.kind) {
      case 'go':
        return await goBuild(dir, platform, outRoot, strategy.commands, run, kind);
      case 'command':
        return [await run('bash', ['-e', '-o', 'pipefail', '-c', strategy.command], {cwd: dir, env: commandEnv(platform, outRoot)})];
      default:
        return [];
    }
  } catch (error) {
    if (error instanceof ProcessError && error.notFound) {
      const tool = strategy.kind === 'go' ? 'go' : 'bash';
      const fix = tool === 'go' ? 'add actions/setup-go before this step, or ship prebuilt linux/<arch>/bin' : 'run on a runner with bash';
      throw new UserError(`${tool} is not on PATH, so ${dir} cannot be built; ${fix}.`);
    }
    throw error;
  }
}

/** What build-command sees: the target platform, in Go's and in plain names, and where to write. */
export function commandEnv(platform: Platform, outRoot: string): Record<string, string> {
  const go = goEnvironment(platform);
  return childEnv({
    TARGET_OS: platform.os,
    TARGET_ARCH: platform.architecture,
    TARGET_VARIANT: platform.variant ?? '',
    GOOS: go.GOOS,
    GOARCH: go.GOARCH,
    GOARM: go.GOARM ?? '',
    OUTPUT_DIR: outRoot
  });
}
