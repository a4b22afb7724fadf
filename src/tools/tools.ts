import { saveInPostStep } from '../cache/actions-cache.js';
import type { Inputs } from '../inputs/inputs.js';
import { installTool, type InstalledTool } from './install.js';
import type { ToolRequest } from './request.js';
import { resolveVersion } from './resolve.js';

/** Installs the requested tools in order, and remembers what the post step should cache. */
export async function installTools(requests: ToolRequest[], inputs: Pick<Inputs, 'toolsDownloadBaseUrl' | 'cache' | 'cacheSave'>): Promise<InstalledTool[]> {
  const installed: InstalledTool[] = [];
  for (const request of requests) {
    const exact = await resolveVersion(request, inputs.toolsDownloadBaseUrl, process.env);
    installed.push(await installTool(exact, { baseUrl: inputs.toolsDownloadBaseUrl, useActionsCache: inputs.cache, runner: { platform: process.platform, arch: process.arch } }));
  }
  if (inputs.cache && inputs.cacheSave) saveInPostStep(installed.flatMap((t) => (t.cache ? [t.cache] : [])));
  return installed;
}

/** The `tools` output: name -> {version, path}. */
export function toolsOutput(installed: InstalledTool[]): Record<string, { version: string; path: string }> {
  return Object.fromEntries(installed.map((t) => [t.name, { version: t.version, path: t.path }]));
}
