import path from 'node:path';
import { parse } from 'smol-toml';
import type { Platform } from '../platform/platform.js';
import { InputError } from '../util/errors.js';

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
  arch?: string;
}

export function readDependencies(metadata: Record<string, unknown>, file: string): Dependency[] {
  const raw = metadata.dependencies;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InputError(`${file} has a metadata.dependencies that is not an array of tables; write it as [[metadata.dependencies]].`);
  return raw.map((entry, index) => {
    const d = entry as Record<string, unknown>;
    const text = (key: string): string | undefined => (typeof d[key] === 'string' ? (d[key] as string) : undefined);
    const id = text('id') ?? `#${index + 1}`;
    let sha256: string | undefined;
    const checksum = text('checksum');
    if (checksum !== undefined) {
      const m = /^sha256:([a-fA-F0-9]{64})$/.exec(checksum);
      if (!m) throw new InputError(`${file} gives dependency ${id} the checksum "${checksum}", which is not sha256:<64 hex digits>; fix it.`);
      sha256 = m[1].toLowerCase();
    } else if (text('sha256') !== undefined) {
      if (!/^[a-fA-F0-9]{64}$/.test(text('sha256') as string)) throw new InputError(`${file} gives dependency ${id} the sha256 "${text('sha256')}", which is not 64 hex digits; fix it.`);
      sha256 = (text('sha256') as string).toLowerCase();
    }
    return { index, id, version: text('version'), uri: text('uri'), sha256, os: text('os'), arch: text('arch') };
  });
}

/** `node 20.1.0 (arm64)`: how errors and warnings name a dependency. */
export function describeDependency(d: Dependency): string {
  return [d.id, d.version, d.arch ? `(${d.arch})` : undefined].filter(Boolean).join(' ');
}

/** The dependencies a platform's image carries: those for its os and arch, and those for any. */
export function dependenciesFor(dependencies: Dependency[], platform: Platform): Dependency[] {
  return dependencies.filter((d) => (!d.arch || d.arch === platform.architecture) && (!d.os || d.os === platform.os));
}

/** Where an offline buildpack keeps a dependency, relative to the buildpack root. */
export function bundledPath(dependency: Dependency): string {
  const name = path.posix.basename(new URL(dependency.uri as string).pathname) || 'dependency';
  return `dependencies/${dependency.sha256}/${decodeURIComponent(name)}`;
}

const HEADER = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/;

/**
 * buildpack.toml for one image: the text as written, with the `[[metadata.dependencies]]`
 * blocks not in `keep` removed and, for offline images, each kept dependency's uri pointing
 * into the image. Comments, order and formatting of everything else are untouched.
 */
export function filterDependencies(text: string, total: number, keep: Set<number>, uris: Map<number, string>, file: string): string {
  if (total === 0) return text;
  const lines = text.split('\n');
  // Each [[metadata.dependencies]] block runs to the next header that is not one of its own sub-tables.
  const blocks: { start: number; end: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = HEADER.exec(lines[i]);
    if (!header) continue;
    const name = header[1];
    const last = blocks.at(-1);
    if (last && last.end === -1 && !name.startsWith('metadata.dependencies.')) last.end = i;
    if (name === 'metadata.dependencies' && /^\s*\[\[/.test(lines[i])) blocks.push({ start: i, end: -1 });
  }
  const last = blocks.at(-1);
  if (last && last.end === -1) last.end = lines.length;
  if (blocks.length !== total) {
    throw new InputError(`${file} lists dependencies in a form the action cannot filter per platform (${blocks.length} [[metadata.dependencies]] tables for ${total} entries); write each as a [[metadata.dependencies]] table.`);
  }
  const out: string[] = [];
  let cursor = 0;
  blocks.forEach((block, index) => {
    out.push(...lines.slice(cursor, block.start));
    if (keep.has(index)) {
      const body = lines.slice(block.start, block.end);
      const uri = uris.get(index);
      if (uri !== undefined) {
        const at = body.findIndex((l) => /^\s*uri\s*=/.test(l));
        if (at < 0) throw new InputError(`${file} has dependency #${index + 1} without a uri line to rewrite; add uri = "...".`);
        body[at] = body[at].replace(/^(\s*uri\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')(.*)$/, (_m, pre: string, _old: string, post: string) => `${pre}${JSON.stringify(uri)}${post}`);
      }
      out.push(...body);
    }
    cursor = block.end;
  });
  out.push(...lines.slice(cursor));
  const result = out.join('\n');
  const check = (parse(result) as { metadata?: { dependencies?: unknown[] } }).metadata?.dependencies ?? [];
  if (check.length !== keep.size) throw new Error(`filtering dependencies of ${file} kept ${check.length}, expected ${keep.size}`);
  return result;
}
