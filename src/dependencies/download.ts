import * as tc from '@actions/tool-cache';
import {mkdir, rename, rm, stat} from 'node:fs/promises';
import path from 'node:path';
import {describeDependency, type Dependency} from '../buildpack/dependencies.js';
import {restoreFromActionsCache} from '../cache/actions-cache.js';
import {mapLimit} from '../util/concurrency.js';
import {randomUUID} from 'node:crypto';
import {releaseTemporary, trackTemporary} from '../util/cancel.js';
import {ExternalError, UserError, errorMessage} from '../util/errors.js';
import {hashFile} from '../util/hash.js';
import * as log from '../util/log.js';

/** How many dependency downloads run at once. */
const DOWNLOAD_CONCURRENCY = 4;

export interface DownloadedDependency {
  sha256: string;
  file: string;
  size: number;
  /** Set when this run downloaded it, for the post step to save in the Actions cache. */
  cache?: {paths: string[]; key: string};
}

/** A dependency's cache directory, stable across runs of a job so the Actions cache can restore it. */
function cacheDir(root: string, sha256: string): string {
  return path.join(root, sha256);
}

/**
 * Downloads every dependency an offline buildpack bundles, each once however many platforms
 * share it: from the local cache, else the Actions cache, else its uri (streamed to disk,
 * retried). Each file's sha256 must match buildpack.toml before it is used; a mismatch or a
 * failed download names the dependency and stops the run before anything is packaged.
 */
export async function downloadDependencies(dependencies: Dependency[], root: string, useActionsCache: boolean, file: string): Promise<Map<string, DownloadedDependency>> {
  const unique = new Map<string, Dependency>();
  for (const d of dependencies) {
    if (!d.uri || !d.sha256) {
      throw new UserError(`${file} gives dependency ${describeDependency(d)} no ${d.uri ? 'checksum' : 'uri'}, so it cannot be bundled offline; add uri and checksum = "sha256:...".`);
    }
    unique.set(d.sha256, d);
  }
  const results = await mapLimit([...unique.values()], DOWNLOAD_CONCURRENCY, d => fetchOne(d, root, useActionsCache));
  return new Map(results.map(r => [r.sha256, r]));
}

async function fetchOne(d: Dependency, root: string, useActionsCache: boolean): Promise<DownloadedDependency> {
  const sha256 = d.sha256 as string;
  const dir = cacheDir(root, sha256);
  const target = path.join(dir, 'content');
  const key = `buildpack-dependency-${sha256}`;
  const present = async (): Promise<DownloadedDependency | undefined> => {
    const found = await stat(target).catch(() => undefined);
    if (!found) return undefined;
    const hash = await hashFile(target);
    return hash.digest === `sha256:${sha256}` ? {sha256, file: target, size: hash.size} : undefined;
  };
  const cached = (await present()) ?? (useActionsCache && (await restoreFromActionsCache([dir], key)) ? await present() : undefined);
  if (cached) {
    log.info(`${describeDependency(d)}: cached (sha256:${sha256})`);
    return cached;
  }
  await mkdir(dir, {recursive: true});
  let downloaded: string;
  const partial = path.join(dir, `.partial-${randomUUID()}`);
  trackTemporary(partial); // a cancelled run leaves no half-downloaded file behind
  try {
    downloaded = await tc.downloadTool(d.uri as string, partial);
  } catch (error) {
    await rm(partial, {force: true});
    releaseTemporary(partial);
    throw new ExternalError(`Dependency ${describeDependency(d)} could not be downloaded from ${d.uri} (${errorMessage(error)}); check the uri in buildpack.toml and the network.`, {cause: error});
  }
  const hash = await hashFile(downloaded);
  if (hash.digest !== `sha256:${sha256}`) {
    await rm(downloaded, {force: true});
    releaseTemporary(partial);
    throw new UserError(`Dependency ${describeDependency(d)} from ${d.uri} has ${hash.digest}, but buildpack.toml says sha256:${sha256}; fix the checksum or the uri (nothing was packaged).`);
  }
  await rename(downloaded, target);
  releaseTemporary(partial);
  log.info(`${describeDependency(d)}: downloaded ${hash.size} bytes from ${d.uri}, sha256 verified`);
  return {sha256, file: target, size: hash.size, ...(useActionsCache ? {cache: {paths: [dir], key}} : {})};
}
