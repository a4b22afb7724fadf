import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { OCI_LAYOUT_FILE } from '../oci/layout.js';
import { InputError } from '../util/errors.js';

/**
 * Refuses an `output` that would destroy something: the buildpack itself (or a folder holding
 * it), or an existing non-empty directory that is not a layout from an earlier run.
 */
export async function checkOutput(output: string, buildpackDir: string): Promise<void> {
  const rel = path.relative(output, buildpackDir);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new InputError(
      `Input "output" is ${output}, which holds the buildpack directory and would be replaced; choose a directory of its own, such as \${{ runner.temp }}/multiarch-buildpack.`,
    );
  }
  let entries: string[];
  try {
    if (!(await stat(output)).isDirectory()) {
      throw new InputError(`Input "output" is ${output}, which is a file; choose a directory.`);
    }
    entries = await readdir(output);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (entries.length && !entries.includes(OCI_LAYOUT_FILE)) {
    throw new InputError(
      `Input "output" is ${output}, which holds files that are not an OCI layout from an earlier run; choose an empty or new directory.`,
    );
  }
}

/** A fresh directory beside `output`, so the finished result can be renamed into place. */
export async function createStaging(output: string): Promise<string> {
  const staging = path.join(path.dirname(output), `.${path.basename(output)}.partial-${randomUUID()}`);
  await mkdir(staging, { recursive: true });
  return staging;
}

/** Replaces `output` with the finished staging directory: readers see the old or the new, whole. */
export async function commitStaging(staging: string, output: string): Promise<void> {
  const old = `${staging}.old`;
  let hadOld = false;
  try {
    await rename(output, old);
    hadOld = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await rename(staging, output);
  if (hadOld) await rm(old, { recursive: true, force: true });
}
