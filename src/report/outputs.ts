import * as core from '@actions/core';
import type {BuildpackDescriptor} from '../buildpack/descriptor.js';
import type {PackageResult} from '../output/layout.js';
import {formatPlatform} from '../platform/platform.js';
import type {ReleasePlan} from '../plan/plan.js';
import type {PublishReport} from '../publish/registries.js';
import {repositoryName} from '../registry/reference.js';
import type {InstalledTool} from '../tools/install.js';
import {toolsOutput} from '../tools/tools.js';
import type {SmokeResult} from '../smoke/smoke-test.js';

/** The `manifests` output entry; `package`/`merge` runs exchange exactly this. */
export interface ManifestRecord {
  platform: {os: string; architecture: string; variant?: string};
  digest: string;
  size: number;
  mediaType: string;
  experimental: boolean;
}

export function manifestRecords(result: PackageResult): ManifestRecord[] {
  return result.platforms.map(p => ({
    platform: {
      os: p.image.platform.os,
      architecture: p.image.platform.architecture,
      ...(p.image.platform.variant ? {variant: p.image.platform.variant} : {})
    },
    digest: p.image.manifest.digest,
    size: p.image.manifest.size,
    mediaType: p.image.manifest.mediaType,
    experimental: p.experimental
  }));
}

export function cnbFiles(result: PackageResult): Record<string, string> {
  return Object.fromEntries(result.platforms.map(p => [formatPlatform(p.image.platform), p.cnbFile]));
}

export interface RunMetadata {
  id: string;
  version: string;
  digest: string;
  mediaType: string;
  size: number;
  layout: string;
  manifests: ManifestRecord[];
  /** Per platform (`linux/arm64`), the image's size as pulled: config plus layers, compressed. */
  imageSizes: Record<string, number>;
  'cnb-files': Record<string, string>;
  /** With sbom: true, the SBOM file of each platform. */
  'sbom-files'?: Record<string, string>;
  annotations: Record<string, string>;
  /** `<first tag's repository>@<digest>`, when there are tags. */
  image?: string;
  /** The references pushed. */
  tags: string[];
  push?: {existing: number; mounted: number; uploaded: number; bytesUploaded: number; requests: number; retries: number; referrerTags?: number};
  /** Installed tools: name -> version and executable path. */
  tools: Record<string, {version: string; path: string}>;
  smoke: SmokeRecord[];
  /** Release assets written (asset-name). */
  assets?: string[];
}

export interface SmokeRecord {
  platform: string;
  status: 'passed' | 'failed' | 'skipped';
  experimental: boolean;
  summary: string;
}

/** Everything one run produced, as the outputs and the summary report it. */
export function runMetadata(descriptor: BuildpackDescriptor, plan: ReleasePlan, result: PackageResult, published: PublishReport | undefined, installed: InstalledTool[], smoke: SmokeResult[]): RunMetadata {
  return {
    id: descriptor.id,
    version: plan.version,
    digest: result.index.digest,
    mediaType: result.index.mediaType,
    size: result.index.size,
    layout: result.layout,
    manifests: manifestRecords(result),
    imageSizes: Object.fromEntries(result.platforms.map(p => [formatPlatform(p.image.platform), imageSize([p.image.config, ...p.image.layers])])),
    'cnb-files': cnbFiles(result),
    ...(result.referrers.length ? {'sbom-files': Object.fromEntries(result.platforms.flatMap(p => Object.entries(p.attachmentFiles).map(([, file]) => [formatPlatform(p.image.platform), file])))} : {}),
    annotations: plan.annotations,
    image: plan.tags.length ? `${repositoryName(plan.tags[0])}@${result.index.digest}` : undefined,
    tags: published?.tags ?? [],
    push: published ? {...published.stats, requests: published.requests, retries: published.retries} : undefined,
    tools: toolsOutput(installed),
    smoke: smoke.map(smokeRecord)
  };
}

/** An image's size as a registry serves it: the blobs its manifest lists (a layer listed twice counted once). */
export function imageSize(blobs: {digest: string; size: number}[]): number {
  const seen = new Map(blobs.map(b => [b.digest, b.size]));
  return [...seen.values()].reduce((sum, size) => sum + size, 0);
}

export function smokeRecord(r: SmokeResult): SmokeRecord {
  return {platform: formatPlatform(r.platform), status: r.status, experimental: r.experimental, summary: r.summary};
}

export function setOutputs(metadata: RunMetadata): void {
  core.setOutput('digest', metadata.digest);
  core.setOutput('manifests', JSON.stringify(metadata.manifests));
  core.setOutput('layout', metadata.layout);
  core.setOutput('cnb-files', JSON.stringify(metadata['cnb-files']));
  core.setOutput('sbom-files', JSON.stringify(metadata['sbom-files'] ?? {}));
  core.setOutput('image', metadata.image ?? '');
  core.setOutput('tags', metadata.tags.join('\n'));
  core.setOutput('tools', JSON.stringify(metadata.tools));
  core.setOutput('smoke', JSON.stringify(metadata.smoke));
  core.setOutput('assets', JSON.stringify(metadata.assets ?? []));
  core.setOutput('metadata', JSON.stringify(metadata));
}
