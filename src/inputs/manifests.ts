import {MediaType} from '../oci/types.js';
import {comparePlatforms, formatPlatform, parsePlatform} from '../platform/platform.js';
import {UserError} from '../util/errors.js';
import type {ManifestRecord} from '../report/outputs.js';

const MANIFEST_TYPES: string[] = [MediaType.ImageManifest, MediaType.DockerManifest];

/**
 * The `manifests` input of mode: merge and smoke: one or more JSON arrays, as mode: package
 * outputs them (one per line, or a JSON array of arrays). Platforms must be unique; entries come
 * back in index order, so merged indexes are byte-identical to single-job ones.
 */
export function parseManifestRecords(lines: string[]): ManifestRecord[] {
  if (!lines.length) throw new UserError('Input "manifests" is empty; pass the manifests output of each mode: package job, one per line.');
  const records: ManifestRecord[] = [];
  for (const line of lines) {
    if (line.length > MAX_LINE) throw new UserError(`Input "manifests" has a line of ${line.length} characters, far more than a package job's output; pass each package job's manifests output as it is, one per line.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new UserError(`Input "manifests" has a line that is not JSON ("${line.slice(0, 60)}"); pass each package job's manifests output as it is, one per line.`);
    }
    // An entry, an array of entries (one job's output), or an array of those: nothing deeper.
    const items: unknown[] = [];
    for (const outer of Array.isArray(parsed) ? parsed : [parsed]) {
      for (const item of Array.isArray(outer) ? outer : [outer]) {
        if (Array.isArray(item)) {
          throw new UserError('Input "manifests" has a line nested deeper than package jobs\' outputs are (arrays of arrays of entries at most); pass each package job\'s manifests output as it is, one per line.');
        }
        items.push(item);
      }
    }
    if (records.length + items.length > MAX_RECORDS) throw new UserError(`Input "manifests" lists more than ${MAX_RECORDS} images; pass each package job's manifests output once.`);
    for (const item of items) records.push(checkRecord(item));
  }
  for (const [i, r] of records.entries()) {
    const name = formatPlatform(r.platform);
    if (records.findIndex(q => formatPlatform(q.platform) === name) !== i) {
      throw new UserError(`Input "manifests" lists ${name} twice; pass each package job's output once, each job building different architectures.`);
    }
  }
  return records.sort((a, b) => comparePlatforms(a.platform, b.platform));
}

const MAX_LINE = 1024 * 1024;
const MAX_RECORDS = 64;

/** A short, safe rendering of an entry for a message, whatever its shape. */
function preview(item: unknown): string {
  try {
    const text = JSON.stringify(item, (_k, v: unknown) => (typeof v === 'object' && v !== null && JSON.stringify(v).length > 200 ? '...' : v));
    return (text ?? String(item)).slice(0, 120);
  } catch {
    return Array.isArray(item) ? '[...]' : typeof item === 'object' && item !== null ? '{...}' : String(item).slice(0, 120);
  }
}

function checkRecord(item: unknown): ManifestRecord {
  const r = item as Partial<ManifestRecord>;
  const bad = (why: string): UserError => new UserError(`Input "manifests" has an entry ${preview(item)} ${why}; pass the manifests output of mode: package unchanged.`);
  if (!r || typeof r !== 'object' || !r.platform || typeof r.platform !== 'object') throw bad('without a platform');
  const {os, architecture, variant} = r.platform as Record<string, unknown>;
  if (typeof os !== 'string' || typeof architecture !== 'string' || (variant !== undefined && typeof variant !== 'string')) throw bad('whose platform is not {"os","architecture"} strings');
  const platform = parsePlatform(formatPlatform({os, architecture, variant}), 'Input "manifests"');
  if (typeof r.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(r.digest)) throw bad('whose digest is not sha256:<64 hex digits>');
  if (typeof r.size !== 'number' || r.size <= 0 || !Number.isInteger(r.size)) throw bad('whose size is not a positive integer');
  if (typeof r.mediaType !== 'string' || !MANIFEST_TYPES.includes(r.mediaType)) throw bad(`whose mediaType is not one of ${MANIFEST_TYPES.join(', ')}`);
  return {platform: {os: platform.os, architecture: platform.architecture, ...(platform.variant ? {variant: platform.variant} : {})}, digest: r.digest, size: r.size, mediaType: r.mediaType, experimental: r.experimental === true};
}
