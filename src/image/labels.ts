import type { BuildpackDescriptor, Target } from '../buildpack/descriptor.js';
import type { Platform } from '../platform/platform.js';

export const BUILDPACKAGE_METADATA_LABEL = 'io.buildpacks.buildpackage.metadata';
export const BUILDPACK_LAYERS_LABEL = 'io.buildpacks.buildpack.layers';

/**
 * JSON as Go's encoding/json writes it (pack, the lifecycle and kpack are Go): fields in struct
 * order, omitempty fields left out, and <, >, & escaped.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/** Drops undefined, empty-string and empty-array fields (Go's omitempty), keeping order. */
function omitEmpty<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)),
  ) as Partial<T>;
}

/** The targets this platform's image claims: buildpack.toml's matching entries, else the platform. */
export function targetsFor(descriptor: BuildpackDescriptor, platform: Platform): Target[] {
  const matching = descriptor.targets.filter(
    (t) =>
      (!t.os || t.os === platform.os) &&
      (!t.arch || t.arch === platform.architecture) &&
      (!t.variant || t.variant === platform.variant),
  );
  const targets = matching.length
    ? matching.map((t) => ({ ...t, os: t.os ?? platform.os, arch: t.arch ?? platform.architecture }))
    : [{ os: platform.os, arch: platform.architecture, variant: platform.variant }];
  return targets.map((t) =>
    omitEmpty({
      os: t.os,
      arch: t.arch,
      variant: t.variant,
      distros: t.distros?.map((d) => omitEmpty({ name: d.name, version: d.version })),
    }) as Target,
  );
}

function stacksOf(descriptor: BuildpackDescriptor): { id: string; mixins?: string[] }[] {
  return descriptor.stacks.map((s) => omitEmpty({ id: s.id, mixins: s.mixins }) as { id: string });
}

/** `io.buildpacks.buildpackage.metadata`: who the package is (pack's BuildpackageMetadata). */
export function buildpackageMetadata(descriptor: BuildpackDescriptor, version: string): string {
  const stacks = stacksOf(descriptor);
  return goJson({
    ...omitEmpty({
      id: descriptor.id,
      name: descriptor.name,
      version,
      description: descriptor.description,
      homepage: descriptor.homepage,
      keywords: descriptor.keywords,
      licenses: descriptor.licenses.map((l) => ({ Type: l.type ?? '', URI: l.uri ?? '' })),
    }),
    // pack always writes stacks, with the wildcard for a targets-only buildpack.
    stacks: stacks.length ? stacks : [{ id: '*' }],
  });
}

/** One buildpack's entry in `io.buildpacks.buildpack.layers` (pack's ModuleLayerInfo). */
export interface LayerInfo {
  api: string;
  stacks?: { id: string; mixins?: string[] }[];
  targets?: Target[];
  order?: { group: { id: string; version?: string; optional?: boolean }[] }[];
  layerDiffID: string;
  homepage?: string;
  name?: string;
}

export function layerInfo(descriptor: BuildpackDescriptor, platform: Platform, diffID: string): LayerInfo {
  return omitEmpty({
    api: descriptor.api,
    stacks: stacksOf(descriptor),
    targets: targetsFor(descriptor, platform),
    order: descriptor.order?.map((o) => ({ group: o.group.map((g) => omitEmpty({ id: g.id, version: g.version, optional: g.optional })) })),
    layerDiffID: diffID,
    homepage: descriptor.homepage,
    name: descriptor.name,
  }) as LayerInfo;
}

/** `io.buildpacks.buildpack.layers`: id -> version -> layer info, keys sorted as Go sorts maps. */
export function buildpackLayers(entries: { id: string; version: string; info: LayerInfo }[]): string {
  const byId: Record<string, Record<string, LayerInfo>> = {};
  for (const e of [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    byId[e.id] ??= {};
    byId[e.id][e.version] = e.info;
  }
  for (const id of Object.keys(byId)) {
    byId[id] = Object.fromEntries(Object.entries(byId[id]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return goJson(byId);
}
