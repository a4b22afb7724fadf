import {mkdir, symlink} from 'node:fs/promises';
import path from 'node:path';
import type {ModuleKind} from '../buildpack/descriptor.js';
import {goEnvironment, type Platform} from '../platform/platform.js';
import type {ProcessRunner, ProcessResult} from '../util/process.js';
import {childEnv} from '../util/process.js';

/** A Go program of the buildpack: `cmd/<name>` (or packit's top-level `run/`) and the binary it becomes. */
export interface GoCommand {
  name: string;
  /** The package to build, relative to the module: `./cmd/run`, `./run`. */
  pkg: string;
}

/**
 * The entry points a program serves through symlinks, as Paketo's build scripts link them:
 * packit's `run` is bin/detect and bin/build (bin/generate for an image extension); libpak's
 * `main` is bin/detect and bin/build.
 */
function linksFor(name: string, kind: ModuleKind): string[] {
  if (name === 'run') return kind === 'extension' ? ['detect', 'generate'] : ['detect', 'build'];
  if (name === 'main') return kind === 'extension' ? ['detect', 'generate'] : ['detect', 'build'];
  return [];
}

/**
 * Cross-compiles Paketo's way: each program becomes bin/<name>, and `run` (packit) or `main`
 * (libpak) also serves the lifecycle's entry points through symlinks to it, as
 * github-config's and libpak's build scripts make them. Static (CGO off), stripped, and with
 * -trimpath and -buildvcs=false so the bytes do not depend on the checkout's path or state.
 */
export async function goBuild(dir: string, platform: Platform, outRoot: string, commands: GoCommand[], run: ProcessRunner, kind: ModuleKind = 'buildpack'): Promise<ProcessResult[]> {
  const bin = path.join(outRoot, 'bin');
  await mkdir(bin, {recursive: true});
  const env = childEnv({...goEnvironment(platform), CGO_ENABLED: '0'});
  const results: ProcessResult[] = [];
  for (const command of commands) {
    const args = ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', path.join(bin, command.name), command.pkg];
    const result = await run('go', args, {cwd: dir, env});
    results.push(result);
    if (result.exitCode !== 0) return results;
  }
  const names = commands.map(c => c.name);
  // run wins over main when both exist: packit's layout names the entry program run.
  const entry = names.includes('run') ? 'run' : names.includes('main') ? 'main' : undefined;
  for (const link of entry ? linksFor(entry, kind) : []) {
    if (names.includes(link)) continue; // a program of that name is the entry point itself
    await symlink(entry as string, path.join(bin, link));
  }
  return results;
}
