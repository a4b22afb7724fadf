import { parse } from 'smol-toml';
import { InputError } from '../util/errors.js';
import type { BuildpackDescriptor } from './descriptor.js';

// The version becomes an image tag and a path component, so it must satisfy the tag grammar
// (distribution/reference): semver build metadata (`+build`) and templates do not.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** The version to publish: the input, else buildpack.toml's, which must then be a real one. */
export function resolveVersion(input: string | undefined, descriptor: BuildpackDescriptor): string {
  if (input !== undefined) {
    if (!TAG.test(input)) {
      throw new InputError(
        `Input "version" is "${input}", which cannot be an image tag; use letters, digits, ".", "_" and "-" only (write 1.2.3-build.5 rather than 1.2.3+build.5).`,
      );
    }
    return input;
  }
  const version = descriptor.version;
  if (!version) {
    throw new InputError(
      `${descriptor.file} has no buildpack.version and the "version" input is empty; set the version input (for example version: 1.2.3).`,
    );
  }
  if (!TAG.test(version)) {
    throw new InputError(
      `${descriptor.file} has the version "${version}", which is not a real version; set the "version" input (for example version: 1.2.3) or write one into buildpack.toml.`,
    );
  }
  return version;
}

/**
 * buildpack.toml as it ships: the original text with only `[buildpack] version` replaced, so
 * comments, ordering and everything else stay as the author wrote them.
 */
export function renderDescriptor(descriptor: BuildpackDescriptor, version: string): string {
  const lines = descriptor.text.split('\n');
  let table = '';
  let replaced = false;
  for (let i = 0; i < lines.length && !replaced; i++) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(lines[i]);
    if (header) {
      table = header[1];
      continue;
    }
    const inBuildpack = table === 'buildpack';
    const key = inBuildpack ? 'version' : table === '' ? 'buildpack\\.version' : undefined;
    if (!key) continue;
    const match = new RegExp(`^(\\s*${key}\\s*=\\s*)("(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^#\\s]+)(.*)$`).exec(lines[i]);
    if (match) {
      lines[i] = `${match[1]}${JSON.stringify(version)}${match[3]}`;
      replaced = true;
    }
  }
  let text = lines.join('\n');
  if (!replaced) {
    // No version line: add one right under [buildpack].
    text = text.replace(/^(\s*\[buildpack\]\s*(#.*)?)$/m, `$1\n  version = ${JSON.stringify(version)}`);
  }
  const check = parse(text) as { buildpack?: { version?: unknown } };
  if (check.buildpack?.version !== version) {
    throw new InputError(
      `Could not write the version into ${descriptor.file}; write [buildpack] version = "{{ .version }}" on a line of its own.`,
    );
  }
  return text;
}
