import semver from 'semver';
import {UserError} from '../util/errors.js';
import {versionFromFile} from './version-file.js';
import {DEFAULT_VERSIONS, TOOL_NAMES, type ToolName} from './versions.js';

export interface ToolRequest {
  name: ToolName;
  /** Exact (x.y.z), or a semver range / `latest` that resolve.ts turns into an exact one. */
  version: string;
}

export const EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/**
 * Parses `tools` items (`pack`, `jam@2.17.3`, `buildx@v0.27.0`, `pack@file:.pack-version`), each
 * tool at most once; a `file:` path is read relative to `workspace`.
 */
export function parseToolRequests(items: string[], workspace: string = process.cwd()): ToolRequest[] {
  const requests: ToolRequest[] = [];
  for (const item of items) {
    const at = item.indexOf('@');
    const rawName = at < 0 ? item : item.slice(0, at);
    let rawVersion = at < 0 ? undefined : item.slice(at + 1);
    const name = rawName.trim().toLowerCase();
    if (!(TOOL_NAMES as string[]).includes(name) || (rawVersion !== undefined && !rawVersion.startsWith('file:') && rawVersion.includes('@'))) {
      throw new UserError(`Input "tools" lists "${item}", which is not one of ${TOOL_NAMES.join(', ')} (optionally with @<version> or @file:<path>); fix the entry.`);
    }
    const asked = rawVersion;
    if (rawVersion?.startsWith('file:')) rawVersion = versionFromFile(name, rawVersion.slice('file:'.length).trim(), workspace);
    const version = (rawVersion ?? DEFAULT_VERSIONS[name as ToolName]).trim().replace(/^v(?=\d)/, '');
    if (!EXACT.test(version) && version !== 'latest' && !semver.validRange(version)) {
      throw new UserError(
        `Input "tools" asks for ${name}@${asked}${asked === rawVersion ? '' : ` (${rawVersion})`}, which is neither an exact version nor a semver range; write ${name}@${DEFAULT_VERSIONS[name as ToolName]}, ${name}@0.38 or ${name}@latest.`
      );
    }
    if (requests.some(r => r.name === name)) throw new UserError(`Input "tools" lists ${name} twice; keep one entry.`);
    requests.push({name: name as ToolName, version});
  }
  return requests;
}
