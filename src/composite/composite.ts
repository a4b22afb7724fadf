import * as core from '@actions/core';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {readDescriptor, type BuildpackDescriptor, type ModuleRef} from '../buildpack/descriptor.js';
import {resolveVersion} from '../buildpack/version.js';
import type {ComponentImage, PlatformImage} from '../image/image.js';
import {BUILDPACKAGE_METADATA_LABEL, BUILDPACK_LAYERS_LABEL, labelTargets, layerInfo, resolvedStacks, type LayerInfo} from '../image/labels.js';
import type {BlobStore} from '../oci/store.js';
import type {ImageConfig} from '../oci/types.js';
import {buildNativeImages} from '../assemble/native.js';
import {targetMatches, type ReleasePlan} from '../plan/plan.js';
import {formatPlatform, type Platform} from '../platform/platform.js';
import type {RegistryClient} from '../registry/client.js';
import {downloadBlob} from '../registry/blobs.js';
import {resolvePlatformImage, type RemoteImage} from '../registry/read.js';
import {formatReference} from '../registry/reference.js';
import {UserError} from '../util/errors.js';
import * as log from '../util/log.js';
import type {Component, PackageConfig} from './package-toml.js';

/** Where a component's blobs already live, so a publish to the same registry can mount them. */
export interface BlobSource {
  registry: string;
  repository: string;
}

export interface ResolvedComponents {
  /** Per platform (plan order), the components' images in package.toml order. */
  images: (store: BlobStore) => Promise<Map<string, ComponentImage[]>>;
  sources: Map<string, BlobSource>;
}

const key = (p: Platform): string => formatPlatform(p);

/** A module a component brings (itself, or one of the modules its image holds), as validation sees it. */
interface Module {
  id: string;
  version: string;
  info: Pick<LayerInfo, 'stacks' | 'order' | 'targets'>;
}

/** What one component of package.toml brings, before anything is built. */
interface Resolved {
  component: Component;
  /** How messages name it: its reference or its directory. */
  name: string;
  /** The component's own module (the image's package, or the directory's buildpack). */
  main: {id: string; version: string};
  /** Every module it brings, per platform (plan order). */
  modules: Module[][];
  remote?: RemoteImage[];
  local?: {dir: string; descriptor: BuildpackDescriptor; version: string};
}

/**
 * Resolves every component of a composite for every platform, and checks the family as pack's
 * validateBuildpacks does, before anything is built or pushed: registry images through the
 * same clients and credentials as the publish (a component lacking a platform is an error naming
 * both), local directories read; then every order group entry must be provided by a component,
 * every component used by a group, the stacks compatible and every component's targets admit
 * each platform. Only then are local components built, with the normal pipeline. The same
 * happens whether or not anything is pushed, so a dry run and a publish give the same digest.
 */
export async function resolveComponents(config: PackageConfig, composite: BuildpackDescriptor, plan: ReleasePlan, clientFor: ((registry: string) => RegistryClient) | undefined, work: string): Promise<ResolvedComponents> {
  const sources = new Map<string, BlobSource>();
  const resolved = await core.group('Resolve components', async () => {
    const all: Resolved[] = [];
    for (const component of config.components) {
      if (component.kind === 'image') {
        if (!clientFor) throw new Error('registry components without registry clients');
        const client = clientFor(component.ref.registry);
        const images: RemoteImage[] = [];
        for (const platform of plan.platforms) {
          const image = await resolvePlatformImage(client, component.ref, platform);
          if (!image) {
            throw new UserError(
              `The composite's dependency ${formatReference(component.ref)} (${config.file}) has no ${formatPlatform(platform)} image; publish that component for ${formatPlatform(platform)} first, or leave ${formatPlatform(platform)} out of architectures.`
            );
          }
          log.info(`${formatReference(component.ref)} ${formatPlatform(platform)}: ${image.manifest.digest}`);
          for (const layer of image.layers) sources.set(layer.digest, {registry: component.ref.registry, repository: component.ref.repository});
          images.push(image);
        }
        const name = formatReference(component.ref);
        const modules = images.map(image => modulesOf(image.config, name));
        const meta = packageOf(images[0].config, name);
        all.push({component, name, main: meta, modules, remote: images});
      } else {
        const descriptor = await readDescriptor(component.dir);
        if (descriptor.order) throw new UserError(`${descriptor.file} is itself a composite; list its components in the family's package.toml instead.`, {file: descriptor.file});
        if (descriptor.kind !== 'buildpack') throw new UserError(`${config.file} lists ${component.uri}, an image extension, which a composite buildpack cannot hold; package it on its own.`, {file: config.file});
        const version = resolveVersion(undefined, descriptor);
        const own: Module = {id: descriptor.id, version, info: layerInfo(descriptor, '')};
        all.push({component, name: component.dir, main: {id: descriptor.id, version}, modules: plan.platforms.map(() => [own]), local: {dir: component.dir, descriptor, version}});
      }
    }
    return all;
  });
  validateFamily(composite, config, resolved, plan.platforms);

  const local = new Map<Component, (store: BlobStore) => Promise<PlatformImage[]>>();
  for (const [i, r] of resolved.entries()) {
    if (r.local) local.set(r.component, await buildLocalComponent(r.local, plan, path.join(work, `component-${i}`)));
  }
  return {
    sources,
    images: async store => {
      const perPlatform = new Map<string, ComponentImage[]>(plan.platforms.map(p => [key(p), []]));
      for (const r of resolved) {
        if (r.remote && r.component.kind === 'image') {
          const ref = r.component.ref;
          for (const [p, image] of r.remote.entries()) {
            for (const layer of image.layers) await downloadBlob((clientFor as (registry: string) => RegistryClient)(ref.registry), ref.repository, layer, store);
            perPlatform.get(key(plan.platforms[p]))?.push(componentImage(r.name, image.config, image.layers));
          }
        } else {
          const images = await (local.get(r.component) as (store: BlobStore) => Promise<PlatformImage[]>)(store);
          for (const image of images) {
            const imageConfig = JSON.parse(await readFile(store.blobPath(image.config.digest), 'utf8')) as ImageConfig;
            perPlatform.get(key(image.platform))?.push(componentImage(r.name, imageConfig, image.layers));
          }
        }
      }
      return perPlatform;
    }
  };
}

function parseLabel<T>(config: ImageConfig, label: string, name: string): T {
  const text = config.config?.Labels?.[label];
  if (!text) throw new UserError(`${name} has no ${label} label, so it is not a buildpack image; check the dependency.`);
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new UserError(`${name} has a ${label} label that is not JSON, so it is not a buildpack image pack wrote; check the dependency.`, {cause: error});
  }
}

/** The modules an image holds, from its layers label. */
function modulesOf(config: ImageConfig, name: string): Module[] {
  const label = parseLabel<Record<string, Record<string, LayerInfo>>>(config, BUILDPACK_LAYERS_LABEL, name);
  return Object.entries(label).flatMap(([id, versions]) => Object.entries(versions ?? {}).map(([version, info]) => ({id, version, info: info ?? {}})));
}

/** The package an image is (its metadata label's id and version). */
function packageOf(config: ImageConfig, name: string): {id: string; version: string} {
  const meta = parseLabel<{id?: unknown; version?: unknown}>(config, BUILDPACKAGE_METADATA_LABEL, name);
  if (typeof meta.id !== 'string' || typeof meta.version !== 'string') throw new UserError(`${name} has a ${BUILDPACKAGE_METADATA_LABEL} label without id and version; check the dependency.`);
  return {id: meta.id, version: meta.version};
}

/** An order as a layers label writes it, for the ids and versions it names. */
function labelOrder(order: {group?: unknown}[]): {group: ModuleRef[]}[] {
  return order.map(o => ({
    group: (Array.isArray(o.group) ? (o.group as Record<string, unknown>[]) : []).map(g => ({id: typeof g?.id === 'string' ? g.id : '', ...(typeof g?.version === 'string' ? {version: g.version} : {})}))
  }));
}

function refName(ref: {id: string; version?: string}): string {
  return ref.version ? `${ref.id}@${ref.version}` : ref.id;
}

/**
 * pack's validateBuildpacks for a family, with the action's words: every group entry provided
 * (the version asked for, when it gives one), every component used, stacks compatible, and every
 * component's targets admitting every platform built.
 */
function validateFamily(composite: BuildpackDescriptor, config: PackageConfig, resolved: Resolved[], platforms: Platform[]): void {
  const self = `${composite.id}${composite.version ? `@${composite.version}` : ''}`;
  const modules = resolved.flatMap(r => r.modules[0] ?? []);
  const provides = (ref: ModuleRef): boolean => modules.some(m => m.id === ref.id && (!ref.version || m.version === ref.version));
  const referrers: {name: string; order: {group: ModuleRef[]}[]}[] = [
    {name: `the composite ${self}`, order: composite.order ?? []},
    ...modules.filter(m => m.info.order?.length).map(m => ({name: `the composite ${m.id}@${m.version}`, order: labelOrder(m.info.order ?? [])}))
  ];
  for (const referrer of referrers) {
    for (const [g, group] of referrer.order.entries()) {
      for (const ref of group.group) {
        if (provides(ref)) continue;
        throw new UserError(`The [[order]] group ${g + 1} of ${referrer.name} names ${refName(ref)}, which no dependency in ${config.file} provides; add it to [[dependencies]] or fix the group in ${composite.file}.`, {
          file: composite.file
        });
      }
    }
  }
  const used = (id: string, version: string): boolean => referrers.some(r => r.order.some(o => o.group.some(ref => ref.id === id && (!ref.version || ref.version === version))));
  for (const r of resolved) {
    if (used(r.main.id, r.main.version)) continue;
    throw new UserError(`${config.file} lists ${r.main.id}@${r.main.version} (${r.component.uri}), which no [[order]] group of ${self} uses; add it to a group in ${composite.file}, or remove the dependency.`, {file: config.file});
  }
  if (
    !resolvedStacks(
      {order: composite.order},
      modules.map(m => m.info)
    ).length
  ) {
    throw new UserError(`The components of ${self} have no stack in common (pack: "no compatible stacks among provided buildpacks"); give them compatible [[stacks]], or [[targets]] instead.`, {file: composite.file});
  }
  for (const r of resolved) {
    for (const [p, platform] of platforms.entries()) {
      for (const m of r.modules[p] ?? []) {
        const targets = m.info.targets ?? [];
        if (!targets.length || targets.some(t => targetMatches({os: t.os || undefined, arch: t.arch || undefined, variant: t.variant}, platform))) continue;
        throw new UserError(
          `${m.id}@${m.version} (in ${r.name}) does not run on ${formatPlatform(platform)}: its targets are ${labelTargets(targets)
            .map(t => [t.os || '*', t.arch || '*', t.variant].filter(Boolean).join('/'))
            .join(', ')}; build that component for ${formatPlatform(platform)}, or leave ${formatPlatform(platform)} out of the family's targets.`,
          {file: config.file}
        );
      }
    }
  }
}

function componentImage(name: string, config: ImageConfig, layers: RemoteImage['layers']): ComponentImage {
  return {name, layers, diffIDs: config.rootfs?.diff_ids ?? [], layersLabel: parseLabel(config, BUILDPACK_LAYERS_LABEL, name)};
}

/** A component in a local directory (a monorepo family), built as a buildpack of its own. */
async function buildLocalComponent(local: {dir: string; descriptor: BuildpackDescriptor; version: string}, plan: ReleasePlan, work: string): Promise<(store: BlobStore) => Promise<PlatformImage[]>> {
  return buildNativeImages({dir: local.dir, descriptor: local.descriptor, plan: {...plan, version: local.version}, work, skip: [work], build: 'auto'});
}
