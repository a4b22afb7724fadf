import {saveInPostStep} from '../cache/actions-cache.js';
import {installTool, type InstalledTool} from './install.js';
import type {ToolRequest} from './request.js';
import {resolveToolVersion} from './resolve.js';

export interface ToolOptions {
  /** tools-download-base-url: a mirror of github.com's release downloads. */
  mirror?: string;
  /** cache: restore from the Actions cache; cache-save: have the post step save new downloads. */
  useActionsCache: boolean;
  saveToActionsCache: boolean;
  /** For GITHUB_API_URL and GITHUB_TOKEN when a range is resolved. */
  env: NodeJS.ProcessEnv;
}

/** Installs the requested tools in order, and remembers what the post step should cache. */
export async function installTools(requests: ToolRequest[], options: ToolOptions): Promise<InstalledTool[]> {
  const installed: InstalledTool[] = [];
  for (const request of requests) {
    const exact = await resolveToolVersion(request, options.mirror, options.env);
    installed.push(await installTool(exact, {baseUrl: options.mirror, useActionsCache: options.useActionsCache, runner: {platform: process.platform, arch: process.arch}}));
  }
  if (options.useActionsCache && options.saveToActionsCache) saveInPostStep(installed.flatMap(t => (t.cache ? [t.cache] : [])));
  return installed;
}

/** The `tools` output: name -> {version, path}. */
export function toolsOutput(installed: InstalledTool[]): Record<string, {version: string; path: string}> {
  return Object.fromEntries(installed.map(t => [t.name, {version: t.version, path: t.path}]));
}
