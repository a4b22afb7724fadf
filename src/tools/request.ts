import { InputError } from '../util/errors.js';
import { DEFAULT_VERSIONS, TOOL_NAMES, type ToolName } from './versions.js';

export interface ToolRequest {
  name: ToolName;
  /** Exact, without a leading v. */
  version: string;
}

const EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** Parses `tools` items (`pack`, `jam@2.17.3`, `buildx@v0.27.0`), each tool at most once. */
export function parseToolRequests(items: string[]): ToolRequest[] {
  const requests: ToolRequest[] = [];
  for (const item of items) {
    const [rawName, rawVersion, ...rest] = item.split('@');
    const name = rawName.trim().toLowerCase();
    if (!(TOOL_NAMES as string[]).includes(name) || rest.length) {
      throw new InputError(`Input "tools" lists "${item}", which is not one of ${TOOL_NAMES.join(', ')} (optionally with @<version>); fix the entry.`);
    }
    const version = (rawVersion ?? DEFAULT_VERSIONS[name as ToolName]).trim().replace(/^v/, '');
    if (!EXACT.test(version)) {
      throw new InputError(
        `Input "tools" asks for ${name}@${rawVersion}, which is not an exact version; write ${name}@${DEFAULT_VERSIONS[name as ToolName]} or another exact x.y.z release.`,
      );
    }
    if (requests.some((r) => r.name === name)) throw new InputError(`Input "tools" lists ${name} twice; keep one entry.`);
    requests.push({ name: name as ToolName, version });
  }
  return requests;
}
