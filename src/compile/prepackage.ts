import type {BuildpackDescriptor} from '../buildpack/descriptor.js';
import {UserError} from '../util/errors.js';
import {childEnv, lastLine, stoppedBy, type ProcessRunner} from '../util/process.js';
import * as log from '../util/log.js';

/**
 * buildpack.toml's `metadata.pre-package`, run once in the buildpack directory before anything
 * is built, as jam runs it (by bash: it is the author's own command line, such as
 * `./scripts/build.sh --target linux/amd64`). Its failure stops everything, its output shown.
 */
export async function runPrePackage(descriptor: BuildpackDescriptor, dir: string, run: ProcessRunner): Promise<void> {
  const command = descriptor.prePackage;
  if (!command) return;
  const result = await run('bash', ['-e', '-o', 'pipefail', '-c', command], {cwd: dir, env: childEnv({})});
  const output = `${result.stdout}${result.stderr}`.trimEnd();
  if (result.exitCode !== 0) {
    throw new UserError(`metadata.pre-package "${command}" in ${descriptor.file} failed (exit code ${result.exitCode}${stoppedBy(result)}): ${lastLine(result) || 'no output'}; fix it and run again.`, {details: output});
  }
  if (output) log.info(output);
}
