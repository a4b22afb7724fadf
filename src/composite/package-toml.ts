import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {parseToml} from '../buildpack/toml.js';
import type {Target} from '../buildpack/descriptor.js';
import {InvalidReferenceError, parseReference, type Reference} from '../registry/reference.js';
import {UserError, withPath} from '../util/errors.js';

/** A component of a composite: an image in a registry, or a buildpack directory built here. */
export type Component = {kind: 'image'; uri: string; ref: Reference} | {kind: 'path'; uri: string; dir: string};

export interface PackageConfig {
  file: string;
  components: Component[];
  targets: Target[];
}

/**
 * package.toml of a composite (a language family): `[buildpack] uri`, `[[dependencies]] uri`
 * (`docker://<image>`, a bare image reference, or a path relative to the file) and `[[targets]]`.
 */
export async function readPackageConfig(dir: string, descriptorFile: string): Promise<PackageConfig> {
  const file = path.join(dir, 'package.toml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw withPath(error, file);
    throw new UserError(`${descriptorFile} has [[order]], so it is a composite, but ${file} does not exist; add a package.toml listing its [[dependencies]] (uri = "docker://...").`, {cause: error, file: descriptorFile, key: 'order'});
  }
  return packageConfigOf(parseToml(text, file).value, file, dir);
}

function packageConfigOf(doc: Record<string, unknown>, file: string, dir: string): PackageConfig {
  const buildpack = doc.buildpack as {uri?: unknown} | undefined;
  if (buildpack?.uri !== undefined && buildpack.uri !== '.' && buildpack.uri !== './') {
    throw new UserError(`${file} has [buildpack] uri = ${JSON.stringify(buildpack.uri)}; the action packages the directory holding it, so write uri = ".".`, {file, key: 'buildpack.uri'});
  }
  const deps = Array.isArray(doc.dependencies) ? (doc.dependencies as Record<string, unknown>[]) : [];
  if (!deps.length) throw new UserError(`${file} lists no [[dependencies]]; a composite needs each component, such as uri = "docker://ghcr.io/acme/node-engine:1.2.3".`, {file, key: 'dependencies'});
  const components = deps.map((d, i): Component => {
    const uri = typeof d.uri === 'string' ? d.uri : typeof d.image === 'string' ? d.image : undefined;
    if (!uri) throw new UserError(`${file} [[dependencies]] entry ${i + 1} has no uri; write uri = "docker://<image>:<tag>" or a path.`, {file, key: `dependencies.${i}`});
    const at = `dependencies.${i}.${typeof d.uri === 'string' ? 'uri' : 'image'}`;
    if (uri.startsWith('docker://')) return {kind: 'image', uri, ref: referenceIn(uri.slice('docker://'.length), file, at)};
    if (/^(urn:|https?:|file:)/.test(uri)) {
      throw new UserError(`${file} [[dependencies]] uri "${uri}" is not supported for a multi-platform composite; use docker://<image> or a relative path to a buildpack directory.`, {file, key: `dependencies.${i}.uri`});
    }
    if (uri.startsWith('.') || uri.startsWith('/')) return {kind: 'path', uri, dir: path.resolve(dir, uri)};
    return {kind: 'image', uri, ref: referenceIn(uri, file, at)};
  });
  const targets = (Array.isArray(doc.targets) ? (doc.targets as Record<string, unknown>[]) : []).map(t => ({
    os: typeof t.os === 'string' ? t.os : undefined,
    arch: typeof t.arch === 'string' ? t.arch : undefined,
    variant: typeof t.variant === 'string' ? t.variant : undefined
  }));
  return {file, components, targets};
}

/** A component's reference; a bad one is the user's, on that line of package.toml. */
function referenceIn(text: string, file: string, key: string): Reference {
  try {
    return parseReference(text, file);
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw new UserError(error.message, {cause: error, file, key});
    throw error;
  }
}
