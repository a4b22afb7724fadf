import { MediaType } from '../oci/types.js';
import { comparePlatforms, formatPlatform, parsePlatform } from '../platform/platform.js';
import { InputError } from '../util/errors.js';
import type { ManifestRecord } from './outputs.js';

const MANIFEST_TYPES: string[] = [MediaType.ImageManifest, MediaType.DockerManifest];

/**
 * The `manifests` input of mode: merge and smoke: one or more JSON arrays, as mode: package
 * outputs them (one per line, or a JSON array of arrays). Platforms must be unique; entries come
 * back in index order, so merged indexes are byte-identical to single-job ones.
 */
export function parseManifestRecords(lines: string[]): ManifestRecord[] {
  if (!lines.length) throw new InputError('Input "manifests" is empty; pass the manifests output of each mode: package job, one per line.');
  const records: ManifestRecord[] = [];
  for (const line of lines) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new InputError(`Input "manifests" has a line that is not JSON ("${line.slice(0, 60)}"); pass each package job's manifests output as it is, one per line.`);
    }
    const items = (Array.isArray(parsed) ? parsed : [parsed]).flat();
    for (const item of items) records.push(checkRecord(item));
  }
  for (const [i, r] of records.entries()) {
    const name = formatPlatform(r.platform);
    if (records.findIndex((q) => formatPlatform(q.platform) === name) !== i) {
      throw new InputError(`Input "manifests" lists ${name} twice; pass each package job's output once, each job building different architectures.`);
    }
  }
  return records.sort((a, b) => comparePlatforms(a.platform, b.platform));
}

function checkRecord(item: unknown): ManifestRecord {
  const r = item as Partial<ManifestRecord>;
  const bad = (why: string): InputError => new InputError(`Input "manifests" has an entry ${JSON.stringify(item).slice(0, 120)} ${why}; pass the manifests output of mode: package unchanged.`);
  if (!r || typeof r !== 'object' || !r.platform) throw bad('without a platform');
  const platform = parsePlatform(formatPlatform({ os: r.platform.os, architecture: r.platform.architecture, variant: r.platform.variant }), 'Input "manifests"');
  if (typeof r.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(r.digest)) throw bad('whose digest is not sha256:<64 hex digits>');
  if (typeof r.size !== 'number' || r.size <= 0 || !Number.isInteger(r.size)) throw bad('whose size is not a positive integer');
  if (typeof r.mediaType !== 'string' || !MANIFEST_TYPES.includes(r.mediaType)) throw bad(`whose mediaType is not one of ${MANIFEST_TYPES.join(', ')}`);
  return { platform: { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) }, digest: r.digest, size: r.size, mediaType: r.mediaType, experimental: r.experimental === true };
}
