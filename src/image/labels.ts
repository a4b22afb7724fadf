import type {BuildpackDescriptor, License, ModuleRef, Stack, Target} from '../buildpack/descriptor.js';

export const BUILDPACKAGE_METADATA_LABEL = 'io.buildpacks.buildpackage.metadata';
export const BUILDPACK_LAYERS_LABEL = 'io.buildpacks.buildpack.layers';
export const EXTENSION_LAYERS_LABEL = 'io.buildpacks.extension.layers';

/**
 * JSON as Go's encoding/json writes it (pack, the lifecycle and kpack are Go): fields in struct
 * order, omitempty fields left out, and <, >, & escaped.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c').replaceAll('>', '\\u003e').replaceAll('&', '\\u0026').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029');
}

/** Drops undefined, false, empty-string and empty-array fields (Go's omitempty), keeping order. */
function omitEmpty<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0))) as Partial<T>;
}

/** pack's dist.Target: `os` and `arch` always written (empty when absent), the rest omitempty. */
export type LabelTarget = {os: string; arch: string; variant?: string; distros?: {name?: string; version?: string}[]};

/** buildpack.toml's `[[targets]]` as written, as pack's `descriptor.Targets()` gives them to the label. */
export function labelTargets(targets: Target[]): LabelTarget[] {
  return targets.map(t => ({
    os: t.os ?? '',
    arch: t.arch ?? '',
    ...omitEmpty({variant: t.variant, distros: t.distros?.map(d => omitEmpty({name: d.name, version: d.version}))})
  }));
}

export type LabelStack = {id: string; mixins?: string[]};

function labelStacks(stacks: Stack[]): LabelStack[] {
  return stacks.map(s => omitEmpty({id: s.id, mixins: s.mixins}) as LabelStack);
}

/** pack's dist.License has no JSON tags: Go writes its field names. */
function labelLicenses(licenses: License[] | undefined): {Type: string; URI: string}[] | undefined {
  return licenses?.map(l => ({Type: l.type ?? '', URI: l.uri ?? ''}));
}

/** pack's dist.ModuleInfo, in its field order, omitempty throughout. */
function moduleInfo(m: {id: string; name?: string; version?: string; description?: string; homepage?: string; keywords?: string[]; execEnv?: string[]; licenses?: License[]; clearEnv?: boolean}): Record<string, unknown> {
  return omitEmpty({
    id: m.id,
    name: m.name,
    version: m.version,
    description: m.description,
    homepage: m.homepage,
    keywords: m.keywords,
    'exec-env': m.execEnv,
    licenses: labelLicenses(m.licenses),
    'clear-env': m.clearEnv
  });
}

/** An order group entry: pack's ModuleRef, the module's info and `optional`. */
function labelModuleRef(ref: ModuleRef): Record<string, unknown> {
  return {...moduleInfo(ref), ...omitEmpty({optional: ref.optional})};
}

/**
 * `io.buildpacks.buildpackage.metadata`: who the package is (pack's buildpack.Metadata, the main
 * module's info and the stacks the package runs on; `null` stacks for an extension, as pack
 * writes them).
 */
export function buildpackageMetadata(descriptor: BuildpackDescriptor, version: string, stacks: LabelStack[] | null): string {
  return goJson({...moduleInfo({...descriptor, version}), stacks});
}

/** One module's entry in `io.buildpacks.buildpack.layers` (pack's ModuleLayerInfo). */
export interface LayerInfo {
  api: string;
  stacks?: LabelStack[];
  targets?: LabelTarget[];
  order?: {group: Record<string, unknown>[]}[];
  layerDiffID: string;
  homepage?: string;
  name?: string;
}

/** A module's layer entry as pack's dist.AddToLayersMD fills it from the descriptor, as written. */
export function layerInfo(descriptor: BuildpackDescriptor, diffID: string): LayerInfo {
  const info: LayerInfo = {
    api: descriptor.api,
    ...omitEmpty({
      stacks: descriptor.kind === 'buildpack' ? labelStacks(descriptor.stacks) : undefined,
      targets: labelTargets(descriptor.targets),
      order: descriptor.order?.map(o => ({group: o.group.map(labelModuleRef)}))
    }),
    layerDiffID: diffID,
    ...omitEmpty({homepage: descriptor.homepage, name: descriptor.name})
  };
  return info;
}

/** A layers label: id -> version -> layer info, keys sorted as Go sorts maps. */
export function layersLabel(entries: {id: string; version: string; info: LayerInfo}[]): string {
  const byId: Record<string, Record<string, LayerInfo>> = {};
  for (const e of [...entries].sort((a, b) => compareBytes(a.id, b.id))) {
    byId[e.id] ??= {};
    byId[e.id][e.version] = e.info;
  }
  for (const id of Object.keys(byId)) {
    byId[id] = Object.fromEntries(Object.entries(byId[id]).sort(([a], [b]) => compareBytes(a, b)));
  }
  return goJson(byId);
}

/** The old name, for buildpacks. */
export const buildpackLayers = layersLabel;

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const WILDCARD = '*';

/**
 * pack's stack.MergeCompatible: the stacks both lists run on, their mixins united and sorted;
 * a wildcard on one side gives the other side, on both a wildcard alone.
 */
export function mergeStacks(a: LabelStack[], b: LabelStack[]): LabelStack[] {
  const aWild = a.some(s => s.id === WILDCARD);
  const bWild = b.some(s => s.id === WILDCARD);
  if (aWild && bWild) return [{id: WILDCARD}];
  if (aWild) return b;
  if (bWild) return a;
  const mixinsOf = new Map(a.map(s => [s.id, s.mixins ?? []]));
  const merged: LabelStack[] = [];
  for (const s of b) {
    const own = mixinsOf.get(s.id);
    if (!own) continue;
    const mixins = [...new Set([...own, ...(s.mixins ?? [])])].sort(compareBytes);
    merged.push(mixins.length ? {id: s.id, mixins} : {id: s.id});
  }
  return merged;
}

/**
 * pack's resolvedStacks: the main module's stacks (a wildcard for a non-composite with none,
 * as a targets-only buildpack has), merged with every module of the package in turn; composites
 * (an order, no stacks) are passed over.
 */
export function resolvedStacks(main: {stacks?: LabelStack[]; order?: unknown[]}, modules: {stacks?: LabelStack[]; order?: unknown[]}[]): LabelStack[] {
  const own = (m: {stacks?: LabelStack[]; order?: unknown[]}): LabelStack[] => (m.stacks?.length ? m.stacks : m.order?.length ? [] : [{id: WILDCARD}]);
  let stacks = own(main);
  for (const m of modules) {
    const s = own(m);
    if (!stacks.length) stacks = s;
    else if (s.length) stacks = mergeStacks(stacks, s);
  }
  return stacks;
}
