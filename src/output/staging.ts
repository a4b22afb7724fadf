import {randomUUID} from 'node:crypto';
import {lstat, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {releaseTemporary, trackTemporary} from '../util/cancel.js';
import {UserError} from '../util/errors.js';

/** The file by which the action knows an output folder as its own, listing what it wrote there. */
export const OUTPUT_MARKER = '.multiarch-buildpack-output.json';
const WRITER = 'multiarch-buildpack-action';
/** Staging and replaced folders of the action's own inside `output` (left by a killed run, at worst). */
const OWN_LEFTOVER = /^\.multiarch-(staging|old)-[0-9a-f-]{36}$/;

interface Marker {
  writer: string;
  entries: string[];
}

export interface OutputContext {
  buildpackDir: string;
  /** RUNNER_TEMP: the action's work, download and staging folders live there. */
  runnerTemp: string;
}

function contains(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function readMarker(output: string): Promise<Marker | undefined> {
  try {
    const marker = JSON.parse(await readFile(path.join(output, OUTPUT_MARKER), 'utf8')) as Partial<Marker>;
    if (marker.writer === WRITER && Array.isArray(marker.entries) && marker.entries.every(e => typeof e === 'string' && !e.includes('/') && e !== '..' && e !== '.')) {
      return {writer: WRITER, entries: marker.entries};
    }
  } catch {
    // absent or not ours
  }
  return undefined;
}

/**
 * Refuses an `output` that is not the action's alone, before anything is built: the buildpack
 * itself or a folder holding it, RUNNER_TEMP or a folder holding it (the work folders live
 * there), a file, or a folder holding anything but what an earlier run of the action wrote (as
 * its marker lists). Nothing is deleted when it is refused.
 */
export async function checkOutput(output: string, context: OutputContext): Promise<void> {
  const own = 'choose a directory of its own, such as ${{ runner.temp }}/multiarch-buildpack';
  if (contains(output, context.buildpackDir)) {
    throw new UserError(`Input "output" is ${output}, which holds the buildpack directory and would be replaced; ${own}.`);
  }
  if (contains(output, context.runnerTemp)) {
    throw new UserError(`Input "output" is ${output}, which holds RUNNER_TEMP (${context.runnerTemp}), where the action keeps its work folders; ${own}.`);
  }
  let entries: string[];
  try {
    if (!(await stat(output)).isDirectory()) throw new UserError(`Input "output" is ${output}, which is a file; choose a directory.`);
    entries = await readdir(output);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!entries.length) return;
  const marker = await readMarker(output);
  const foreign = entries.filter(e => !(marker && e === OUTPUT_MARKER) && !OWN_LEFTOVER.test(e) && !marker?.entries.includes(e));
  // Without a marker nothing is the action's but its own leftovers (a first run killed before it
  // wrote one, whose staging folder createStaging removes); a lone marker file that is not the
  // action's is foreign too.
  if (foreign.length) {
    const shown = foreign
      .slice(0, 3)
      .map(e => JSON.stringify(e))
      .join(', ');
    throw new UserError(`Input "output" is ${output}, which holds files this action did not write there (${shown}${foreign.length > 3 ? ', ...' : ''}); nothing was deleted: choose an empty or new directory, or empty that one.`);
  }
}

/** A staging folder inside `output`, where the whole result is written before it is moved into place. */
export interface Staging {
  dir: string;
  output: string;
  /** The output folder did not exist before this run. */
  created: boolean;
}

export async function createStaging(output: string): Promise<Staging> {
  const created = !(await lstat(output).then(
    () => true,
    () => false
  ));
  await mkdir(output, {recursive: true});
  if (created) trackTemporary(output);
  // Leftovers of a run that was killed: the action's own, never shipped, removed now.
  for (const name of await readdir(output)) if (OWN_LEFTOVER.test(name)) await rm(path.join(output, name), {recursive: true, force: true});
  const dir = path.join(output, `.multiarch-staging-${randomUUID()}`);
  trackTemporary(dir);
  await mkdir(dir);
  return {dir, output, created};
}

/**
 * Moves the finished staging folder's entries into `output`, in place of what an earlier run
 * wrote (as its marker lists), then writes the marker. Every move is a rename inside `output`,
 * so it works on any file system, a mount point included, and takes no space.
 */
export async function commitStaging(staging: Staging): Promise<void> {
  const {output, dir} = staging;
  const entries = (await readdir(dir)).sort();
  const previous = (await readMarker(output))?.entries ?? [];
  const old = path.join(output, `.multiarch-old-${randomUUID()}`);
  trackTemporary(old);
  await mkdir(old);
  await rm(path.join(output, OUTPUT_MARKER), {force: true});
  for (const name of previous) {
    await rename(path.join(output, name), path.join(old, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  for (const name of entries) await rename(path.join(dir, name), path.join(output, name));
  const marker: Marker = {writer: WRITER, entries};
  const markerTemp = path.join(dir, OUTPUT_MARKER);
  await writeFile(markerTemp, `${JSON.stringify(marker, null, 2)}\n`);
  await rename(markerTemp, path.join(output, OUTPUT_MARKER));
  await rm(old, {recursive: true, force: true});
  await rmdir(dir);
  releaseTemporary(old);
  releaseTemporary(dir);
  if (staging.created) releaseTemporary(output);
}

/** Removes the staging folder, and `output` too when this run created it and it is empty again. */
export async function discardStaging(staging: Staging): Promise<void> {
  await rm(staging.dir, {recursive: true, force: true});
  releaseTemporary(staging.dir);
  if (staging.created) {
    await rmdir(staging.output).catch(() => undefined);
    releaseTemporary(staging.output);
  }
}
