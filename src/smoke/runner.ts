import {constants} from 'node:fs';
import {which} from '@actions/io';
import {access, mkdir, mkdtemp, realpath, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {readElfIdentity} from '../platform/elf.js';
import {formatPlatform, samePlatform, type Platform} from '../platform/platform.js';
import type {ModuleKind} from '../buildpack/descriptor.js';
import {UserError} from '../util/errors.js';
import {runProcess, stoppedBy} from '../util/process.js';

// qemu-user's names for each architecture.
const QEMU: Record<string, string> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  arm: 'arm',
  '386': 'i386',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64'
};

/** The platform this runner executes natively. */
export function runnerPlatform(): Platform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return {os: 'linux', architecture: arch, ...(arch === 'arm' ? {variant: 'v7'} : {})};
}

export interface PhaseResult {
  exitCode: number;
  /** The signal that stopped it, if one did (a crash, also under qemu-user, which dies of the guest's signal). */
  signal?: NodeJS.Signals;
  output: string;
}

export interface BuildpackRun {
  detect: PhaseResult;
  build?: PhaseResult;
  /** What the second phase was: bin/build, or bin/generate for an image extension. */
  phase?: 'build' | 'generate';
  passed: boolean;
  /** One line on what happened, for logs and warnings. */
  summary: string;
}

/**
 * Runs one platform's buildpack as the lifecycle would: bin/detect, then (if it passed)
 * bin/build, with the platform directory, build plan and layers directory as arguments and
 * CNB_* variables, the app as the working directory. An image extension runs bin/detect, then
 * bin/generate with an output directory (CNB_OUTPUT_DIR, CNB_EXTENSION_DIR), each only when
 * present, as the lifecycle treats missing ones. A binary for another architecture runs under
 * qemu-user (emulated); scripts run as they are.
 */
export async function runBuildpack(moduleDir: string, app: string, platform: Platform, api: string, kind: ModuleKind = 'buildpack'): Promise<BuildpackRun> {
  const scratch = await mkdtemp(path.join(path.dirname(moduleDir), 'smoke-'));
  const dirs = {platform: path.join(scratch, 'platform'), layers: path.join(scratch, 'layers'), output: path.join(scratch, 'output')};
  for (const dir of Object.values(dirs)) await mkdir(dir, {recursive: true});
  await mkdir(path.join(dirs.platform, 'env'), {recursive: true});
  const buildPlan = path.join(scratch, 'build-plan.toml');
  const bpPlan = path.join(scratch, 'buildpack-plan.toml');
  await writeFile(bpPlan, '');
  const extension = kind === 'extension';
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? scratch,
    ...(extension ? {CNB_EXTENSION_DIR: moduleDir, CNB_OUTPUT_DIR: dirs.output} : {CNB_BUILDPACK_DIR: moduleDir, CNB_LAYERS_DIR: dirs.layers}),
    CNB_PLATFORM_DIR: dirs.platform,
    CNB_BUILD_PLAN_PATH: buildPlan,
    CNB_BP_PLAN_PATH: bpPlan,
    CNB_TARGET_OS: platform.os,
    CNB_TARGET_ARCH: platform.architecture,
    ...(platform.variant ? {CNB_TARGET_ARCH_VARIANT: platform.variant} : {})
  };
  const present = async (name: string): Promise<boolean> =>
    access(path.join(moduleDir, 'bin', name)).then(
      () => true,
      () => false
    );
  const skipped: PhaseResult = {exitCode: 0, output: '(not present: treated as passed, as the lifecycle does)'};
  // Buildpack API < 0.8 passes the directories as arguments; newer ones read CNB_*; both given.
  const detect = extension && !(await present('detect')) ? skipped : await runPhase(path.join(moduleDir, 'bin', 'detect'), [dirs.platform, buildPlan], app, env, platform);
  if (detect.exitCode !== 0) {
    const why = detect.exitCode === 100 ? 'detection did not pass (exit 100)' : `bin/detect failed (exit ${detect.exitCode}${stoppedBy(detect)})`;
    return {detect, passed: false, summary: `${why} for the app (Buildpack API ${api})`};
  }
  const second = extension ? 'generate' : 'build';
  const build = extension && !(await present('generate')) ? skipped : await runPhase(path.join(moduleDir, 'bin', second), extension ? [dirs.output, dirs.platform, bpPlan] : [dirs.layers, dirs.platform, bpPlan], app, env, platform);
  return {
    detect,
    build,
    phase: second,
    passed: build.exitCode === 0,
    summary: build.exitCode === 0 ? `detect and ${second} passed (Buildpack API ${api})` : `bin/${second} failed (exit ${build.exitCode}${stoppedBy(build)})`
  };
}

async function runPhase(program: string, args: string[], cwd: string, env: Record<string, string>, platform: Platform): Promise<PhaseResult> {
  const [command, argv] = await invocation(program, args, platform);
  const result = await runProcess(command, argv, {cwd, env});
  return {exitCode: result.exitCode, ...(result.signal ? {signal: result.signal} : {}), output: result.output ?? `${result.stdout}${result.stderr}`};
}

/** How to start a buildpack executable for a platform: directly, or through qemu-user. */
async function invocation(program: string, args: string[], platform: Platform): Promise<[string, string[]]> {
  await access(program, constants.X_OK).catch(() => {
    throw new UserError(`${program} is missing or not executable, so the ${formatPlatform(platform)} buildpack cannot be smoke-tested; check bin/ in the image.`);
  });
  const elf = await readElfIdentity(await realpath(program));
  if (!elf || samePlatform(platform, runnerPlatform())) return [program, args];
  const qemu = `qemu-${QEMU[platform.architecture]}-static`;
  const found = await which(qemu, false);
  if (!found) {
    throw new UserError(
      `smoke-test: emulated needs ${qemu} to run the ${formatPlatform(platform)} binaries on this ${formatPlatform(runnerPlatform())} runner; install qemu-user-static (apt-get install qemu-user-static) or use smoke-test: native on a ${formatPlatform(platform)} runner.`
    );
  }
  // qemu passes the path it was given as argv[0], so bin/detect -> run still sees "detect".
  return [found, [program, ...args]];
}
