import {readFileSync} from 'node:fs';
import path from 'node:path';
import {UserError} from '../util/errors.js';

/**
 * A tool's version read from a file in the repository, as `tools: pack@file:<path>` asks: the
 * pinning files buildpack repositories already keep, read the way their own tools read them:
 * - `*.json`, Paketo's `scripts/.util/tools.json`: `{"pack": "v0.40.8", "jam": "v2.18.0"}`;
 * - `.tool-versions` (asdf, mise): the `<tool> <version>` line;
 * - anything else, like `.pack-version` (setup-pack's pack-version-file): the first line that
 *   is not empty or a `#` comment, a trailing comment dropped.
 * A leading `v` is dropped. The path is relative to the workspace, as setup-go's go-version-file.
 */
export function versionFromFile(tool: string, file: string, workspace: string): string {
  const where = path.resolve(workspace, file);
  const asked = `Input "tools" asks for ${tool}@file:${file}`;
  let text: string;
  try {
    text = readFileSync(where, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${asked}, but ${where} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}; give a path relative to the workspace (${workspace}).`, {cause: error});
  }
  let version: string | undefined;
  if (/\.json$/i.test(where)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UserError(`${asked}, but ${where} is not JSON; write it as {"${tool}": "v1.2.3"}.`, {cause: error, file: where});
    }
    const entry = value && typeof value === 'object' ? (value as Record<string, unknown>)[tool] : undefined;
    version = typeof entry === 'string' ? entry : undefined;
  } else if (path.basename(where) === '.tool-versions') {
    for (const line of text.split(/\r?\n/)) {
      const fields = line.replace(/#.*/, '').trim().split(/\s+/);
      if (fields[0] === tool && fields[1]) {
        version = fields[1];
        break;
      }
    }
  } else {
    const line = text.split(/\r?\n/).find(l => l.trim() !== '' && !l.trim().startsWith('#'));
    version = line?.replace(/#.*/, '').trim();
  }
  version = version?.trim().replace(/^v(?=\d)/, '');
  if (!version) throw new UserError(`${asked}, but ${where} names no ${tool} version; add one (for example ${tool} 1.2.3 in a .tool-versions, or the version alone in a plain file).`, {file: where});
  return version;
}
