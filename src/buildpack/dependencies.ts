import path from 'node:path';
import type {Platform} from '../platform/platform.js';
import {UserError} from '../util/errors.js';
import {applyEdits, arrayOfTables, parseToml, tomlString, type TomlEdit} from './toml.js';

/** A `[[metadata.dependencies]]` entry, as far as packaging cares. */
export interface Dependency {
  /** Position among the entries, which is also the order of their table headers in the text. */
  index: number;
  id: string;
  version?: string;
  uri?: string;
  /** Lowercase hex, from `checksum = "sha256:..."` or the older `sha256 = "..."`. */
  sha256?: string;
  os?: string;
  /** `arch`, else (as libpak reads it) the `arch` qualifier of its first purl; undefined: any. */
  arch?: string;
  /** What the SBOM says of it: packit's and libpak's fields. */
  name?: string;
  /** `purl`, or the first of libpak's `purls`. */
  purl?: string;
  /** The other `purls`, past the first. */
  morePurls?: string[];
  /** `cpes = [...]` (libpak, packit) or the older `cpe = "..."`. */
  cpes?: string[];
  /** SPDX ids or names: `licenses = ["MIT"]` (packit) or `[{type = "MIT", uri = "..."}]` (libpak). */
  licenses?: string[];
  source?: string;
}

export function readDependencies(metadata: Record<string, unknown>, file: string): Dependency[] {
  const raw = metadata.dependencies;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new UserError(`${file} has a metadata.dependencies that is not an array of tables; write it as [[metadata.dependencies]].`, {file, key: 'metadata.dependencies'});
  return raw.map((entry, index) => {
    const d = entry as Record<string, unknown>;
    const text = (key: string): string | undefined => (typeof d[key] === 'string' ? d[key] : undefined);
    const id = text('id') ?? `#${index + 1}`;
    let sha256: string | undefined;
    const checksum = text('checksum');
    if (checksum !== undefined) {
      const m = /^sha256:([a-fA-F0-9]{64})$/.exec(checksum);
      if (!m) throw new UserError(`${file} gives dependency ${id} the checksum "${checksum}", which is not sha256:<64 hex digits>; fix it.`, {file, key: `metadata.dependencies.${index}.checksum`});
      sha256 = m[1].toLowerCase();
    } else if (text('sha256') !== undefined) {
      if (!/^[a-fA-F0-9]{64}$/.test(text('sha256') as string)) throw new UserError(`${file} gives dependency ${id} the sha256 "${text('sha256')}", which is not 64 hex digits; fix it.`, {file, key: `metadata.dependencies.${index}.sha256`});
      sha256 = (text('sha256') as string).toLowerCase();
    }
    const strings = (key: string): string[] => (Array.isArray(d[key]) ? (d[key] as unknown[]).filter((v): v is string => typeof v === 'string') : []);
    const cpes = [...strings('cpes'), ...(text('cpe') ? [text('cpe') as string] : [])];
    // libpak: `purls` when there are any, else `purl`.
    const purls = strings('purls').length ? strings('purls') : text('purl') ? [text('purl') as string] : [];
    const licenses = (Array.isArray(d.licenses) ? (d.licenses as unknown[]) : [])
      .map(l => (typeof l === 'string' ? l : l && typeof l === 'object' && typeof (l as {type?: unknown}).type === 'string' ? (l as {type: string}).type : undefined))
      .filter((l): l is string => Boolean(l));
    return {
      index,
      id,
      version: text('version'),
      uri: text('uri'),
      sha256,
      os: text('os'),
      arch: text('arch') ?? archQualifier(purls[0]),
      ...(text('name') ? {name: text('name')} : {}),
      ...(purls.length ? {purl: purls[0]} : {}),
      ...(purls.length > 1 ? {morePurls: purls.slice(1)} : {}),
      ...(cpes.length ? {cpes} : {}),
      ...(licenses.length ? {licenses} : {}),
      ...(text('source') ? {source: text('source')} : {})
    };
  });
}

/**
 * The `arch` qualifier of a purl (`pkg:generic/bellsoft-jdk@21.0.5?arch=arm64`), which libpak
 * reads as the dependency's architecture when it has no `arch` (Paketo's Java buildpacks give
 * none). Read as a URL's query, as libpak reads it with Go's url.Parse: a purl need not be well
 * formed to carry one; one that is no URL at all carries none.
 */
function archQualifier(purl: string | undefined): string | undefined {
  if (!purl || !URL.canParse(purl)) return undefined;
  return new URL(purl).searchParams.get('arch') || undefined;
}

/** `node 20.1.0 (arm64)`: how errors and warnings name a dependency. */
export function describeDependency(d: Dependency): string {
  return [d.id, d.version, d.arch ? `(${d.arch})` : undefined].filter(Boolean).join(' ');
}

/** The dependencies a platform's image carries: those for its os and arch, and those for any. */
export function dependenciesFor(dependencies: Dependency[], platform: Platform): Dependency[] {
  return dependencies.filter(d => (!d.arch || d.arch === platform.architecture) && (!d.os || d.os === platform.os));
}

/** Where an offline buildpack keeps a dependency, relative to the buildpack root. */
export function bundledPath(dependency: Dependency): string {
  const name = path.posix.basename(new URL(dependency.uri as string).pathname) || 'dependency';
  return `dependencies/${dependency.sha256}/${decodeURIComponent(name)}`;
}

/**
 * buildpack.toml for one image: the text as written, with the `[[metadata.dependencies]]`
 * entries not in `keep` removed and, for offline images, each kept dependency's uri pointing
 * into the image. Comments, order, line endings and formatting of everything else are untouched.
 */
export function filterDependencies(text: string, total: number, keep: Set<number>, uris: Map<number, string>, file: string): string {
  if (total === 0) return text;
  const doc = parseToml(text, file);
  const elements = arrayOfTables(doc, ['metadata', 'dependencies']);
  if (elements.length !== total) throw new Error(`found ${elements.length} dependencies in ${file}, expected ${total}`);
  const edits: TomlEdit[] = [];
  for (const element of elements) {
    if (!keep.has(element.index)) {
      for (const [start, end] of element.ranges) edits.push({start, end, text: ''});
      continue;
    }
    const uri = uris.get(element.index);
    if (uri === undefined) continue;
    const line = element.find('uri');
    if (!line) throw new UserError(`${file} has dependency #${element.index + 1} without a uri to rewrite; add uri = "...".`, {file, key: `metadata.dependencies.${element.index}`});
    edits.push({start: line.value.range[0], end: line.value.range[1], text: tomlString(uri)});
  }
  const result = applyEdits(doc, edits);
  const check = (parseToml(result, file).value as {metadata?: {dependencies?: unknown[]}}).metadata?.dependencies ?? [];
  if (check.length !== keep.size) throw new Error(`filtering dependencies of ${file} kept ${check.length}, expected ${keep.size}`);
  return result;
}
