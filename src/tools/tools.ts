import * as core from '@actions/core';
import type { Inputs } from '../inputs/inputs.js';
import { installTool, type InstalledTool } from './install.js';
import type { ToolRequest } from './request.js';

const STATE_KEY = 'tools-to-cache';

/** Installs the requested tools in order, and remembers what the post step should cache. */
export async function installTools(requests: ToolRequest[], inputs: Pick<Inputs, 'toolsDownloadBaseUrl' | 'cache' | 'cacheSave'>): Promise<InstalledTool[]> {
  const installed: InstalledTool[] = [];
  for (const request of requests) {
    installed.push(await installTool(request, { baseUrl: inputs.toolsDownloadBaseUrl, useActionsCache: inputs.cache, runner: { platform: process.platform, arch: process.arch } }));
  }
  const toCache = installed.flatMap((t) => (t.cache ? [t.cache] : []));
  if (inputs.cache && inputs.cacheSave && toCache.length) core.saveState(STATE_KEY, JSON.stringify(toCache));
  return installed;
}

/** What the post step saves to the Actions cache (set by installTools in the main step). */
export function toolsToCache(): { paths: string[]; key: string }[] {
  const state = core.getState(STATE_KEY);
  if (!state) return [];
  try {
    return JSON.parse(state) as { paths: string[]; key: string }[];
  } catch {
    return [];
  }
}

/** The `tools` output: name -> {version, path}. */
export function toolsOutput(installed: InstalledTool[]): Record<string, { version: string; path: string }> {
  return Object.fromEntries(installed.map((t) => [t.name, { version: t.version, path: t.path }]));
}
