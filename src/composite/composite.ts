import * as core from '@actions/core';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readDescriptor } from '../buildpack/descriptor.js';
import { resolveVersion } from '../buildpack/version.js';
import type { ComponentImage, PlatformImage } from '../image/image.js';
import { BUILDPACK_LAYERS_LABEL, type LayerInfo } from '../image/labels.js';
import type { BlobStore } from '../oci/store.js';
import type { ImageConfig } from '../oci/types.js';
import { buildNativeImages } from '../packager/native.js';
import type { ReleasePlan } from '../plan/plan.js';
import { formatPlatform, type Platform } from '../platform/platform.js';
import type { RegistryClient } from '../registry/client.js';
import { downloadBlob } from '../registry/blobs.js';
import { resolvePlatformImage, type RemoteImage } from '../registry/read.js';
import { formatReference } from '../registry/reference.js';
import { InputError } from '../util/errors.js';
import type { Component, PackageConfig } from './package-toml.js';
import * as log from '../util/log.js';

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

/**
 * Resolves every component of a composite for every platform before anything is built or
 * pushed: registry images through the same clients and credentials as the publish (a component
 * lacking a platform is an error naming both), local directories built with the normal pipeline.
 */
export async function resolveComponents(config: PackageConfig, plan: ReleasePlan, clientFor: (registry: string) => RegistryClient, work: string): Promise<ResolvedComponents> {
  const remote = new Map<Component, RemoteImage[]>();
  const sources = new Map<string, BlobSource>();
  await core.group('Resolve components', async () => {
  for (const component of config.components) {
    if (component.kind !== 'image') continue;
    const client = clientFor(component.ref.registry);
    const images: RemoteImage[] = [];
    for (const platform of plan.platforms) {
      const image = await resolvePlatformImage(client, component.ref, platform);
      if (!image) {
        throw new InputError(
          `The composite's dependency ${formatReference(component.ref)} (${config.file}) has no ${formatPlatform(platform)} image; publish that component for ${formatPlatform(platform)} first, or leave ${formatPlatform(platform)} out of architectures.`,
        );
      }
      log.info(`${formatReference(component.ref)} ${formatPlatform(platform)}: ${image.manifest.digest}`);
      for (const layer of image.layers) sources.set(layer.digest, { registry: component.ref.registry, repository: component.ref.repository });
      images.push(image);
    }
    remote.set(component, images);
  }
  });
  const local = new Map<Component, (store: BlobStore) => Promise<PlatformImage[]>>();
  for (const [i, component] of config.components.entries()) {
    if (component.kind === 'path') local.set(component, await buildLocalComponent(component.dir, plan, path.join(work, `component-${i}`)));
  }

  return {
    sources,
    images: async (store) => {
      const perPlatform = new Map<string, ComponentImage[]>(plan.platforms.map((p) => [key(p), []]));
      for (const component of config.components) {
        if (component.kind === 'image') {
          const ref = component.ref;
          for (const [p, image] of (remote.get(component) as RemoteImage[]).entries()) {
            for (const layer of image.layers) await downloadBlob(clientFor(ref.registry), ref.repository, layer, store);
            perPlatform.get(key(plan.platforms[p]))?.push(componentImage(formatReference(ref), image.config, image.layers));
          }
        } else {
          const images = await (local.get(component) as (store: BlobStore) => Promise<PlatformImage[]>)(store);
          for (const image of images) {
            const config = JSON.parse(await readFile(store.blobPath(image.config.digest), 'utf8')) as ImageConfig;
            perPlatform.get(key(image.platform))?.push(componentImage(component.dir, config, image.layers));
          }
        }
      }
      return perPlatform;
    },
  };
}

function componentImage(name: string, config: ImageConfig, layers: RemoteImage['layers']): ComponentImage {
  const label = config.config?.Labels?.[BUILDPACK_LAYERS_LABEL];
  if (!label) throw new InputError(`${name} has no ${BUILDPACK_LAYERS_LABEL} label, so it is not a buildpack image; check the dependency.`);
  return { name, layers, diffIDs: config.rootfs.diff_ids, layersLabel: JSON.parse(label) as Record<string, Record<string, LayerInfo>> };
}

/** A component in a local directory (a monorepo family), built as a buildpack of its own. */
async function buildLocalComponent(dir: string, plan: ReleasePlan, work: string): Promise<(store: BlobStore) => Promise<PlatformImage[]>> {
  const descriptor = await readDescriptor(dir);
  if (descriptor.order) throw new InputError(`${descriptor.file} is itself a composite; list its components in the family's package.toml instead.`);
  return buildNativeImages({ dir, descriptor, plan: { ...plan, version: resolveVersion(undefined, descriptor) }, work, skip: [work], build: 'auto' });
}
