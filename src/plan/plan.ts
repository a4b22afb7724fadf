import type { BuildpackDescriptor, Target } from '../buildpack/descriptor.js';
import { resolveVersion } from '../buildpack/version.js';
import { creationTime } from '../image/image.js';
import type { Inputs } from '../inputs/inputs.js';
import type { Format } from '../oci/types.js';
import { formatReference, parseReference, type Reference } from '../registry/reference.js';
import { parseToolRequests, type ToolRequest } from '../tools/request.js';
import { DEFAULT_VERSIONS } from '../tools/versions.js';
import { formatPlatform, parsePlatformList, samePlatform, type Platform } from '../platform/platform.js';
import { InputError } from '../util/errors.js';

/** What one run will produce, decided before anything is built. */
export interface ReleasePlan {
  version: string;
  /** Sorted in index order. */
  platforms: Platform[];
  experimental: Platform[];
  annotations: Record<string, string>;
  /** The images' creation time: fixed, never the wall clock. */
  created: string;
  format: Format;
  /** Where to publish the index, parsed and validated before anything is built. */
  tags: Reference[];
  /** Tools to install, in order; pack and jam are added for packager: pack. */
  tools: ToolRequest[];
}

/** `packageTargets`: a composite's package.toml [[targets]], which stand in for buildpack.toml's. */
export function planRelease(inputs: Inputs, descriptor: BuildpackDescriptor, env: NodeJS.ProcessEnv, packageTargets?: { file: string; targets: Target[] }): ReleasePlan {
  const version = resolveVersion(inputs.version, descriptor);
  const platforms = inputs.architectures.length
    ? parsePlatformList(inputs.architectures, 'Input "architectures"')
    : defaultPlatforms(packageTargets ?? { file: descriptor.file, targets: descriptor.targets });
  let experimental: Platform[] = [];
  if (inputs.experimental) {
    if (inputs.experimentalArchitectures) {
      experimental = parsePlatformList(inputs.experimentalArchitectures, 'Input "experimental-architectures"');
      const stray = experimental.find((e) => !platforms.some((p) => samePlatform(p, e)));
      // A package job of a split release builds a subset; the list names the whole release.
      if (inputs.mode === 'package') experimental = experimental.filter((e) => platforms.some((p) => samePlatform(p, e)));
      else if (stray) {
        throw new InputError(
          `Input "experimental-architectures" lists ${formatPlatform(stray)}, which is not being built (architectures: ${platforms.map(formatPlatform).join(', ')}); remove it or add it to architectures.`,
        );
      }
    } else {
      experimental = platforms.filter((p) => p.architecture !== 'amd64');
    }
  }
  if (inputs.format === 'docker') {
    // A Docker manifest list has no annotations: refuse rather than silently drop them.
    if (Object.keys(inputs.annotations).length) {
      throw new InputError('Input "annotations" is set but "format" is docker, whose manifest lists cannot carry annotations; use format: oci or remove the annotations.');
    }
    if (experimental.length) {
      throw new InputError('Input "experimental" is true but "format" is docker, whose manifest lists cannot carry the io.paketo.experimental annotation; use format: oci or set experimental: false.');
    }
  }
  if (inputs.packager === 'pack' && descriptor.order) {
    throw new InputError(`${descriptor.file} is a composite ([[order]]), which the action assembles from its components' images itself; use packager: native.`);
  }
  if (inputs.packager === 'pack' && inputs.build === 'command') {
    throw new InputError('Input "packager" is pack, which builds through jam and buildpack.toml\'s pre-package, but "build" is command; remove build-command (put it in metadata.pre-package) or use packager: native.');
  }
  const tools = parseToolRequests(inputs.tools);
  if (inputs.packager === 'pack') {
    for (const name of ['jam', 'pack'] as const) {
      if (!tools.some((t) => t.name === name)) tools.push({ name, version: DEFAULT_VERSIONS[name] });
    }
  }
  return {
    version,
    platforms,
    experimental,
    annotations: inputs.format === 'docker' ? {} : indexAnnotations(descriptor, version, inputs.annotations, env),
    created: creationTime(env),
    format: inputs.format,
    tags: parseTags(inputs.tags),
    tools,
  };
}

/** Every tag must be a full reference with a tag (no digest), each named once. */
export function parseTags(items: string[]): Reference[] {
  const refs: Reference[] = [];
  for (const item of items) {
    const ref = parseReference(item, 'Input "tags"');
    if (ref.digest) {
      throw new InputError(`Input "tags" has "${item}", which names a digest; tags are written, digests are computed, so write ${formatReference({ ...ref, digest: undefined })}.`);
    }
    if (ref.tag === undefined) {
      throw new InputError(`Input "tags" has "${item}", which has no tag; write it with one, such as ${formatReference({ ...ref, tag: '1.2.3' })}.`);
    }
    if (refs.some((r) => formatReference(r) === formatReference(ref))) {
      throw new InputError(`Input "tags" lists ${formatReference(ref)} twice; remove one.`);
    }
    refs.push(ref);
  }
  return refs;
}

/** `[[targets]]` when present, else amd64 and arm64. */
function defaultPlatforms(source: { file: string; targets: Target[] }): Platform[] {
  if (!source.targets.length) return parsePlatformList(['amd64', 'arm64'], 'The default architectures');
  const names = source.targets.map((t, i) => {
    if (!t.arch) {
      throw new InputError(
        `${source.file} has a [[targets]] entry (number ${i + 1}) without arch; add arch = "amd64" (or the architecture it is for), or set the "architectures" input.`,
      );
    }
    return [t.os ?? 'linux', t.arch, t.variant].filter(Boolean).join('/');
  });
  // Several targets may differ only in distros; they are one platform.
  const unique = names.filter((n, i) => names.indexOf(n) === i);
  return parsePlatformList(unique, `${source.file} [[targets]]`);
}

/**
 * Index annotations GHCR and other registries show for a multi-platform package: where known,
 * from buildpack.toml and the GitHub environment; the `annotations` input wins.
 */
export function indexAnnotations(
  descriptor: BuildpackDescriptor,
  version: string,
  user: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const known: Record<string, string | undefined> = {
    'org.opencontainers.image.version': version,
    'org.opencontainers.image.title': descriptor.name ?? descriptor.id,
    'org.opencontainers.image.description': descriptor.description,
    'org.opencontainers.image.source':
      env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}` : undefined,
    'org.opencontainers.image.revision': env.GITHUB_SHA || undefined,
    'org.opencontainers.image.licenses':
      descriptor.licenses.length && descriptor.licenses.every((l) => l.type)
        ? descriptor.licenses.map((l) => l.type).join(' AND ')
        : undefined,
  };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(known)) if (v) annotations[k] = v;
  return { ...annotations, ...user };
}
