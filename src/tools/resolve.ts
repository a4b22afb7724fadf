import * as core from '@actions/core';
import semver from 'semver';
import {Connections, HttpClient, proxyFromEnv} from '../http/client.js';
import {ExternalError, UserError, errorMessage} from '../util/errors.js';
import {EXACT, type ToolRequest} from './request.js';
import type {ToolName} from './versions.js';
import * as log from '../util/log.js';

const REPOSITORIES: Record<ToolName, string> = {
  pack: 'buildpacks/pack',
  jam: 'paketo-buildpacks/jam',
  buildx: 'docker/buildx'
};

/**
 * Turns a range (`0.38`, `^0.38.0`) or `latest` into the newest matching stable release, from
 * the GitHub releases API ($GITHUB_API_URL, so GHES works; $GITHUB_TOKEN when set, against rate
 * limits). An exact version is returned as it is, without any request. With a mirror no other
 * host may be contacted, so only exact versions are accepted there.
 */
export async function resolveToolVersion(request: ToolRequest, mirror: string | undefined, env: NodeJS.ProcessEnv): Promise<ToolRequest> {
  if (EXACT.test(request.version)) return request;
  const asked = `${request.name}@${request.version}`;
  if (mirror) {
    throw new UserError(`Input "tools" asks for ${asked}, but with tools-download-base-url set no host but the mirror is contacted, so GitHub cannot be asked which release that is; write an exact version.`);
  }
  const api = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  const url = new URL(`${api}/repos/${REPOSITORIES[request.name]}/releases?per_page=100`);
  const headers: Record<string, string> = {Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28'};
  if (env.GITHUB_TOKEN) headers.Authorization = `Bearer ${env.GITHUB_TOKEN}`;
  let releases: {tag_name?: unknown; draft?: unknown; prerelease?: unknown}[];
  const connections = new Connections(proxyFromEnv(env));
  try {
    const http = new HttpClient({connections, userAgent: 'multiarch-buildpack-action', timeoutMs: 60_000, maxBodyBytes: 16 * 1024 * 1024, debug: m => core.debug(m)});
    const response = await http.sendWithRetry({method: 'GET', url, headers});
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    const parsed: unknown = JSON.parse(response.body.toString('utf8'));
    if (!Array.isArray(parsed)) throw new Error('the answer is not a list of releases');
    releases = parsed as typeof releases;
  } catch (error) {
    throw new ExternalError(`Could not list the releases of ${REPOSITORIES[request.name]} at ${url.origin} to resolve ${asked} (${errorMessage(error)}); write an exact version, or set GITHUB_TOKEN against rate limits.`, {cause: error});
  } finally {
    await connections.close();
  }
  const versions = releases
    .filter(r => r && !r.draft && !r.prerelease && typeof r.tag_name === 'string')
    .map(r => (r.tag_name as string).replace(/^v/, ''))
    .filter(v => semver.valid(v));
  const range = request.version === 'latest' ? '*' : request.version;
  const version = semver.maxSatisfying(versions, range);
  if (!version) throw new UserError(`No stable release of ${request.name} matches ${request.version} (newest: ${semver.rsort(versions)[0] ?? 'none'}); fix the version in "tools".`);
  log.info(`${asked} resolves to ${version}`);
  return {name: request.name, version};
}
