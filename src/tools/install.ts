import * as core from '@actions/core';
import * as tc from '@actions/tool-cache';
import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {chmod, copyFile, mkdir, mkdtemp, readFile, rm} from 'node:fs/promises';
import {homedir, tmpdir} from 'node:os';
import path from 'node:path';
import {randomUUID} from 'node:crypto';
import {trackTemporary} from '../util/cancel.js';
import {ExternalError, UserError, errorMessage} from '../util/errors.js';
import {hashFile} from '../util/hash.js';
import {extractArchive} from '../util/archive.js';
import {GITHUB, publishedSha256, releaseAsset, type ReleaseAsset, type Runner} from './assets.js';
import {restoreFromActionsCache} from '../cache/actions-cache.js';
import type {ToolRequest} from './request.js';
import * as log from '../util/log.js';

export interface InstalledTool {
  name: string;
  version: string;
  /** The directory put on PATH. */
  dir: string;
  /** The executable. */
  path: string;
  /** Where it came from this run. */
  source: 'tool-cache' | 'actions-cache' | 'download';
  /** Set when it should be saved to the Actions cache in the post step. */
  cache?: {paths: string[]; key: string};
}

export interface InstallOptions {
  /** Replaces https://github.com in release URLs (a mirror); no other host is contacted. */
  baseUrl?: string;
  useActionsCache: boolean;
  runner: Runner;
}

/**
 * The tool-cache name: a mirror's installs are kept apart from github.com's, so a mirror
 * serving different bytes can never be mistaken for the official release.
 */
export function toolCacheName(tool: string, baseUrl: string | undefined): string {
  if (!baseUrl || baseUrl.replace(/\/+$/, '') === GITHUB) return tool;
  return `${tool}-mirror-${createHash('sha256').update(baseUrl.replace(/\/+$/, '')).digest('hex').slice(0, 12)}`;
}

/**
 * Installs one tool: the tool cache first (no network at all), then the Actions cache, then the
 * release asset, whose published sha256 is checked before anything is extracted or cached.
 */
export async function installTool(request: ToolRequest, options: InstallOptions): Promise<InstalledTool> {
  const {runner} = options;
  const name = toolCacheName(request.name, options.baseUrl);
  const asset = releaseAsset(request.name, request.version, runner, options.baseUrl);
  const key = `${name}-${request.version}-${runner.platform}-${runner.arch}`;
  const cachePaths = [path.join(toolCacheRoot(), name, request.version, runner.arch), path.join(toolCacheRoot(), name, request.version, `${runner.arch}.complete`)];

  let dir = tc.find(name, request.version, runner.arch);
  let source: InstalledTool['source'] = 'tool-cache';
  if (!dir && options.useActionsCache && (await restoreFromActionsCache(cachePaths, key))) {
    dir = tc.find(name, request.version, runner.arch);
    source = 'actions-cache';
  }
  if (!dir) {
    dir = await download(request, asset, name, runner);
    source = 'download';
  }
  const executable = path.join(dir, asset.executable);
  const installed: InstalledTool = {
    name: request.name,
    version: request.version,
    dir,
    path: executable,
    source,
    ...(source === 'download' && options.useActionsCache ? {cache: {paths: cachePaths, key}} : {})
  };
  core.addPath(dir);
  if (request.name === 'buildx') await installDockerPlugin(executable);
  log.info(`${request.name} ${request.version}: ${executable} (from the ${source === 'download' ? asset.url : source})`);
  return installed;
}

function toolCacheRoot(): string {
  return process.env.RUNNER_TOOL_CACHE ?? '';
}

async function download(request: ToolRequest, asset: ReleaseAsset, name: string, runner: Runner): Promise<string> {
  const file = await fetchAsset(request, asset.url, asset.asset, runner);
  try {
    await verify(request, asset, file, runner);
    if (asset.archive === 'binary') {
      await chmod(file, 0o755);
      return await tc.cacheFile(file, asset.executable, name, request.version, runner.arch);
    }
    // tar archives go through the action's own extractor, which refuses entries that climb out
    // with .. or are absolute, rather than trusting the system tar's handling of them.
    const extracted = asset.archive === 'zip' ? await tc.extractZip(file) : await extractTool(file, asset.asset);
    trackTemporary(extracted);
    try {
      return await tc.cacheDir(extracted, name, request.version, runner.arch);
    } finally {
      await rm(extracted, {recursive: true, force: true});
    }
  } finally {
    await rm(file, {force: true});
  }
}

async function fetchAsset(request: ToolRequest, url: string, what: string, runner: Runner): Promise<string> {
  const dest = path.join(process.env.RUNNER_TEMP || tmpdir(), `multiarch-buildpack-download-${randomUUID()}`);
  trackTemporary(dest); // removed at exit unless the install moved it into the tool cache
  try {
    return await tc.downloadTool(url, dest);
  } catch (error) {
    if (error instanceof tc.HTTPError && error.httpStatusCode === 404) {
      throw new UserError(`${request.name} ${request.version} has no ${what} for ${runner.platform}/${runner.arch} at ${url} (HTTP 404); check that this version exists for this platform, or pick another in "tools".`, {cause: error});
    }
    throw new ExternalError(`Could not download ${url} (${errorMessage(error)}); check the network or tools-download-base-url.`, {cause: error});
  }
}

/** Compares the file's sha256 with the published one; a mismatch deletes it and fails closed. */
async function verify(request: ToolRequest, asset: ReleaseAsset, file: string, runner: Runner): Promise<void> {
  if (asset.checksum.kind === 'none') {
    log.info(`${request.name} publishes no checksum for ${asset.asset}; it is installed unverified (pin the version and prefer a trusted mirror).`);
    return;
  }
  const listFile = await fetchAsset(request, asset.checksum.url, `checksum for ${asset.asset}`, runner);
  let expected: string | undefined;
  try {
    expected = publishedSha256(await readFile(listFile, 'utf8'), asset.asset);
  } finally {
    await rm(listFile, {force: true});
  }
  if (!expected) {
    throw new UserError(`${asset.checksum.url} lists no sha256 for ${asset.asset}; refusing to install ${request.name} ${request.version} unverified.`);
  }
  const actual = (await hashFile(file)).digest.slice('sha256:'.length);
  if (actual !== expected) {
    throw new UserError(`${asset.asset} from ${asset.url} has sha256 ${actual}, but ${asset.checksum.url} publishes ${expected}; refusing to install it (nothing was cached), so check the mirror or the network.`);
  }
  log.info(`${asset.asset}: sha256 ${actual} matches ${asset.checksum.url}`);
}

async function extractTool(file: string, asset: string): Promise<string> {
  const dest = await mkdtemp(path.join(process.env.RUNNER_TEMP || tmpdir(), 'multiarch-buildpack-tool-'));
  trackTemporary(dest);
  await extractArchive(createReadStream(file), dest, {archive: asset});
  return dest;
}

/** buildx is a docker CLI plugin: docker finds it in $DOCKER_CONFIG/cli-plugins. */
async function installDockerPlugin(executable: string): Promise<void> {
  const plugins = path.join(process.env.DOCKER_CONFIG || path.join(homedir(), '.docker'), 'cli-plugins');
  await mkdir(plugins, {recursive: true});
  const target = path.join(plugins, path.basename(executable));
  await copyFile(executable, target);
  await chmod(target, 0o755);
}
