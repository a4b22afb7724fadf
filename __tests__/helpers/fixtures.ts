import {cp, mkdtemp} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {EXAMPLE_BUILDPACK} from './paths.js';

/** A private copy of the example buildpack, for tests that change it. */
export async function copyExample(): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'bp-')), 'hello-buildpack');
  await cp(EXAMPLE_BUILDPACK, dir, {recursive: true, verbatimSymlinks: true});
  return dir;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}
