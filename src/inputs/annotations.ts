import {parsePlatform, samePlatform, type Platform} from '../platform/platform.js';
import {UserError} from '../util/errors.js';
import {parseList} from './list.js';

/** Where an annotation goes, as docker's `--annotation <levels>:<key>=<value>` names it. */
export type AnnotationLevel = 'index' | 'manifest' | 'index-descriptor' | 'manifest-descriptor';

const LEVELS: AnnotationLevel[] = ['index', 'manifest', 'index-descriptor', 'manifest-descriptor'];

export interface Annotation {
  level: AnnotationLevel;
  /** `manifest[linux/arm64]:...`: only that platform's manifest (or descriptor). */
  platform?: Platform;
  key: string;
  value: string;
}

/** Annotations by level, as the `annotations` input gives them; later items override earlier ones. */
export interface AnnotationSet {
  items: Annotation[];
}

// OCI annotation keys are reverse-domain names; this is the character set the spec's examples
// and every registry accept.
const KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const LEVEL_PREFIX = /^((?:index|manifest|index-descriptor|manifest-descriptor)(?:\[[^\]]*\])?(?:\s*,\s*(?:index|manifest|index-descriptor|manifest-descriptor)(?:\[[^\]]*\])?)*):/;

/**
 * The `annotations` input as docker/metadata-action writes its `annotations` output and
 * build-push-action reads it: one `key=value` per line (commas belong to the value; quote an
 * item as CSV if you must), optionally prefixed with the levels it goes to, such as
 * `manifest:org.opencontainers.image.title=x`, `index,manifest:...` or `manifest[linux/arm64]:...`.
 * An item without a prefix goes on the image index, as it always has here.
 */
export function parseAnnotations(value: string): AnnotationSet {
  const items: Annotation[] = [];
  for (const item of parseList(value, {ignoreComma: true})) {
    const prefix = LEVEL_PREFIX.exec(item);
    const rest = prefix ? item.slice(prefix[0].length) : item;
    const eq = rest.indexOf('=');
    const key = eq > 0 ? rest.slice(0, eq).trim() : '';
    if (!KEY.test(key)) {
      throw new UserError(
        `Input "annotations" has the item "${item.slice(0, 120)}", which is not [levels:]key=value with a key like org.opencontainers.image.title; write one per line, such as manifest:org.opencontainers.image.title=My buildpack.`
      );
    }
    const levels = prefix ? prefix[1].split(',').map(l => l.trim()) : ['index'];
    for (const spec of levels) {
      const match = /^([a-z-]+)(?:\[([^\]]*)\])?$/.exec(spec) as RegExpExecArray;
      const level = match[1] as AnnotationLevel;
      if (!LEVELS.includes(level)) throw new UserError(`Input "annotations" has the level "${spec}"; use index, manifest, index-descriptor or manifest-descriptor.`);
      const platform = match[2] !== undefined ? parsePlatform(match[2], `Input "annotations" (${spec})`) : undefined;
      if (platform && (level === 'index' || level === 'index-descriptor')) {
        throw new UserError(`Input "annotations" has the level "${spec}", but an index is not per platform; give a platform only to manifest or manifest-descriptor.`);
      }
      items.push({level, ...(platform ? {platform} : {}), key, value: rest.slice(eq + 1).trim()});
    }
  }
  return {items};
}

/** The annotations of one level (for one platform, where the level is per platform). */
export function annotationsAt(set: AnnotationSet, level: AnnotationLevel, platform?: Platform): Record<string, string> {
  const result: Record<string, string> = {};
  for (const a of set.items) {
    if (a.level !== level) continue;
    if (a.platform && !(platform && samePlatform(a.platform, platform))) continue;
    result[a.key] = a.value;
  }
  return result;
}

export function hasAnnotations(set: AnnotationSet): boolean {
  return set.items.length > 0;
}

/**
 * Items whose value looks like more items joined by commas (`a=1,b=2`): this action used to
 * split those, docker's actions never did; the value now keeps the comma, so say so.
 */
export function commaJoinedItems(set: AnnotationSet): Annotation[] {
  return set.items.filter(a => /,\s*(?:(?:index|manifest|index-descriptor|manifest-descriptor)[^:=]*:)?[A-Za-z0-9][A-Za-z0-9._/-]*=/.test(a.value));
}
