import type {BuildpackDescriptor, Target} from '../buildpack/descriptor.js';
import {resolveVersion} from '../buildpack/version.js';
import {creationTime} from '../image/image.js';
import type {Inputs} from '../inputs/inputs.js';
import type {Format} from '../oci/types.js';
import {formatReference, parseReference, type Reference} from '../registry/reference.js';
import {parseToolRequests, type ToolRequest} from '../tools/request.js';
import {DEFAULT_VERSIONS} from '../tools/versions.js';
import {comparePlatforms, formatPlatform, parsePlatform, parsePlatformList, samePlatform, type Platform} from '../platform/platform.js';
import * as log from '../util/log.js';
import {annotationsAt, hasAnnotations, type AnnotationSet} from '../inputs/annotations.js';
import {UserError} from '../util/errors.js';

/** What one run will produce, decided before anything is built. */
export interface ReleasePlan {
  version: string;
  /** Sorted in index order. */
  platforms: Platform[];
  experimental: Platform[];
  /** The image index's annotations: the known ones, then the input's `index:` ones. */
  annotations: Record<string, string>;
  /** Every annotation of the input, by level (manifest, manifest-descriptor, index-descriptor too). */
  annotationSet: AnnotationSet;
  /** The images' creation time: fixed, never the wall clock. */
  created: string;
  format: Format;
  /** Where to publish the index, parsed and validated before anything is built. */
  tags: Reference[];
  /** Tools to install, in order; pack and jam are added for packager: pack. */
  tools: ToolRequest[];
}

/** `packageTargets`: a composite's package.toml [[targets]], which stand in for buildpack.toml's. */
/** What the plan is made from: the inputs that decide what is built and where it goes. */
export type PlanInputs = Pick<Inputs, 'architectures' | 'version' | 'experimental' | 'experimentalArchitectures' | 'annotations' | 'tags' | 'format' | 'tools' | 'packager' | 'build' | 'mode'>;

export function planRelease(inputs: PlanInputs, descriptor: BuildpackDescriptor, env: NodeJS.ProcessEnv, packageTargets?: {file: string; targets: Target[]}): ReleasePlan {
  const version = resolveVersion(inputs.version, descriptor);
  const targets = packageTargets ?? {file: descriptor.file, targets: descriptor.targets};
  const platforms = inputs.architectures.length ? parsePlatformList(inputs.architectures, 'Input "architectures"') : defaultPlatforms(targets);
  if (inputs.architectures.length) checkAgainstTargets(platforms, targets);
  let experimental: Platform[] = [];
  if (inputs.experimental) {
    if (inputs.experimentalArchitectures) {
      experimental = parsePlatformList(inputs.experimentalArchitectures, 'Input "experimental-architectures"');
      const stray = experimental.find(e => !platforms.some(p => samePlatform(p, e)));
      // A package job of a split release builds a subset; the list names the whole release.
      if (inputs.mode === 'package') experimental = experimental.filter(e => platforms.some(p => samePlatform(p, e)));
      else if (stray) {
        throw new UserError(`Input "experimental-architectures" lists ${formatPlatform(stray)}, which is not being built (architectures: ${platforms.map(formatPlatform).join(', ')}); remove it or add it to architectures.`);
      }
    } else {
      experimental = platforms.filter(p => p.architecture !== 'amd64');
    }
  }
  if (inputs.format === 'docker') {
    // A Docker manifest list has no annotations: refuse rather than silently drop them.
    if (hasAnnotations(inputs.annotations)) {
      throw new UserError('Input "annotations" is set but "format" is docker, whose manifest lists cannot carry annotations; use format: oci or remove the annotations.');
    }
    if (experimental.length) {
      throw new UserError('Input "experimental" is true but "format" is docker, whose manifest lists cannot carry the io.paketo.experimental annotation; use format: oci or set experimental: false.');
    }
  }
  if (inputs.packager === 'pack' && descriptor.kind === 'extension') {
    throw new UserError(`${descriptor.file} is an image extension, which the action packages as pack extension package does; use packager: native.`, {file: descriptor.file, key: 'extension'});
  }
  if (inputs.packager === 'pack' && descriptor.order) {
    throw new UserError(`${descriptor.file} is a composite ([[order]]), which the action assembles from its components' images itself; use packager: native.`, {file: descriptor.file, key: 'order'});
  }
  if (inputs.packager === 'pack' && inputs.build === 'command') {
    throw new UserError('Input "packager" is pack, which builds through jam and buildpack.toml\'s pre-package, but "build" is command; remove build-command (put it in metadata.pre-package) or use packager: native.');
  }
  const tools = parseToolRequests(inputs.tools, env.GITHUB_WORKSPACE || process.cwd());
  if (inputs.packager === 'pack') {
    for (const name of ['jam', 'pack'] as const) {
      if (!tools.some(t => t.name === name)) tools.push({name, version: DEFAULT_VERSIONS[name]});
    }
  }
  return {
    version,
    platforms,
    experimental,
    annotations: inputs.format === 'docker' ? {} : indexAnnotations(descriptor, version, annotationsAt(inputs.annotations, 'index'), env),
    annotationSet: inputs.annotations,
    created: creationTime(env),
    format: inputs.format,
    tags: parseTags(inputs.tags),
    tools
  };
}

/** Every tag must be a full reference with a tag (no digest), each named once. */
export function parseTags(items: string[]): Reference[] {
  const refs: Reference[] = [];
  for (const item of items) {
    const ref = parseReference(item, 'Input "tags"');
    if (ref.digest) {
      throw new UserError(`Input "tags" has "${item}", which names a digest; tags are written, digests are computed, so write ${formatReference({...ref, digest: undefined})}.`);
    }
    if (ref.tag === undefined) {
      throw new UserError(`Input "tags" has "${item}", which has no tag; write it with one, such as ${formatReference({...ref, tag: '1.2.3'})}.`);
    }
    if (refs.some(r => formatReference(r) === formatReference(ref))) {
      throw new UserError(`Input "tags" lists ${formatReference(ref)} twice; remove one.`);
    }
    refs.push(ref);
  }
  return refs;
}

const DEFAULT_ARCHITECTURES = ['amd64', 'arm64'];

/**
 * The platforms `[[targets]]` name, as the spec reads them: a missing field matches any value,
 * so a target with only `os = "linux"` means the default architectures (amd64 and arm64);
 * targets for other operating systems are left to other tools. No targets: amd64 and arm64.
 */
function defaultPlatforms(source: {file: string; targets: Target[]}): Platform[] {
  if (!source.targets.length) return parsePlatformList(DEFAULT_ARCHITECTURES, 'The default architectures');
  const names: string[] = [];
  const skipped: string[] = [];
  for (const t of source.targets) {
    if (t.os && t.os !== 'linux') {
      skipped.push(describeTarget(t));
      continue;
    }
    const archs = t.arch ? [t.variant ? `${t.arch}/${t.variant}` : t.arch] : DEFAULT_ARCHITECTURES;
    for (const a of archs) {
      const name = `linux/${a}`;
      if (!names.includes(name)) names.push(name);
    }
  }
  if (skipped.length) log.info(`${source.file} [[targets]] ${skipped.join(', ')}: only linux images are built here; the rest is left out.`);
  if (!names.length) {
    throw new UserError(`${source.file} has [[targets]] for ${skipped.join(', ')} only, and the action builds linux images; add a linux target, or set the "architectures" input.`, {file: source.file, key: 'targets'});
  }
  // Targets that differ only in distros, or overlap (os only and linux/arm64), are one platform.
  const platforms: Platform[] = [];
  for (const p of names.map(n => parsePlatform(n, `${source.file} [[targets]]`))) if (!platforms.some(q => samePlatform(p, q))) platforms.push(p);
  return platforms.sort(comparePlatforms);
}

/** `linux/arm64`, `linux (any architecture)`: a target as messages name it. */
function describeTarget(t: Target): string {
  if (!t.os && !t.arch) return 'any platform';
  if (!t.arch) return `${t.os} (any architecture)`;
  return [t.os ?? '*', t.arch, t.variant].filter(Boolean).join('/');
}

/**
 * Whether a target admits a platform: each field it gives must match (arch spelled as users
 * spell it: aarch64 is arm64), a field it leaves out matches anything.
 */
export function targetMatches(t: Target, p: Platform): boolean {
  if (t.os && t.os !== p.os) return false;
  if (t.arch) {
    let arch: Platform;
    try {
      arch = parsePlatform(t.variant ? `linux/${t.arch}/${t.variant}` : t.arch, 'target');
    } catch {
      return false;
    }
    if (arch.architecture !== p.architecture) return false;
    if (t.variant && arch.variant !== p.variant) return false;
  }
  return true;
}

/**
 * An `architectures` entry no target admits would make an image whose buildpack.toml says it
 * does not run there (the lifecycle then fails detection): refused before anything is built.
 */
function checkAgainstTargets(platforms: Platform[], source: {file: string; targets: Target[]}): void {
  if (!source.targets.length) return;
  for (const p of platforms) {
    if (source.targets.some(t => targetMatches(t, p))) continue;
    throw new UserError(
      `Input "architectures" lists ${formatPlatform(p)}, which no [[targets]] entry of ${source.file} admits (targets: ${source.targets.map(describeTarget).join(', ')}); add a [[targets]] entry for it, or leave it out of architectures.`,
      {file: source.file, key: 'targets'}
    );
  }
}

/**
 * Index annotations GHCR and other registries show for a multi-platform package: where known,
 * from buildpack.toml and the GitHub environment; the `annotations` input wins.
 */
export function indexAnnotations(descriptor: BuildpackDescriptor, version: string, user: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, string> {
  const known: Record<string, string | undefined> = {
    'org.opencontainers.image.version': version,
    'org.opencontainers.image.title': descriptor.name ?? descriptor.id,
    'org.opencontainers.image.description': descriptor.description,
    'org.opencontainers.image.source': env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}` : undefined,
    'org.opencontainers.image.revision': env.GITHUB_SHA || undefined,
    'org.opencontainers.image.licenses': descriptor.licenses.length && descriptor.licenses.every(l => l.type) ? descriptor.licenses.map(l => l.type).join(' AND ') : undefined
  };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(known)) if (v) annotations[k] = v;
  return {...annotations, ...user};
}
