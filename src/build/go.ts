import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { goEnvironment, type Platform } from '../platform/platform.js';
import type { ProcessRunner, ProcessResult } from '../util/process.js';
import { childEnv } from '../util/process.js';

/**
 * Cross-compiles Paketo's way: `cmd/run` becomes bin/run with bin/detect and bin/build linked to
 * it; otherwise each `cmd/<name>` becomes bin/<name>. Static (CGO off), stripped, and with
 * -trimpath and -buildvcs=false so the bytes do not depend on the checkout's path or state.
 */
export async function goBuild(
  dir: string,
  platform: Platform,
  outRoot: string,
  commands: string[],
  run: ProcessRunner,
): Promise<ProcessResult[]> {
  const bin = path.join(outRoot, 'bin');
  await mkdir(bin, { recursive: true });
  const env = childEnv({ ...goEnvironment(platform), CGO_ENABLED: '0' });
  const targets = commands.includes('run') ? ['run'] : commands;
  const results: ProcessResult[] = [];
  for (const name of targets) {
    const args = ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', path.join(bin, name), `./cmd/${name}`];
    const result = await run('go', args, { cwd: dir, env });
    results.push(result);
    if (result.exitCode !== 0) return results;
  }
  if (targets.includes('run')) {
    await symlink('run', path.join(bin, 'detect'));
    await symlink('run', path.join(bin, 'build'));
  }
  return results;
}
