import * as core from '@actions/core';
import type { Inputs } from '../inputs/inputs.js';
import type { PackageResult } from '../package/package.js';
import type { ReleasePlan } from '../plan/plan.js';
import { retryStats } from '../registry/http.js';
import { publish, pushContent, type PublishResult } from '../registry/publish.js';
import { formatReference } from '../registry/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { publishContent } from './content.js';

/**
 * Publishes the packaged layout to the plan's tags, unless there are none or this is a dry run
 * (push: false), in which case nothing is sent. With mode: package, only blobs and manifests go
 * up, by digest, and no tag is written. Returns undefined when nothing was published.
 */
export async function publishRelease(
  result: PackageResult,
  plan: ReleasePlan,
  inputs: Inputs,
  clientFor: ((registry: string) => RegistryClient) | undefined,
  mountSources?: Map<string, { registry: string; repository: string }>,
): Promise<PublishResult | undefined> {
  if (!plan.tags.length) {
    core.info('No tags: packaged only.');
    return undefined;
  }
  if (!inputs.push) {
    core.info(`Dry run (push: false): would publish ${result.index.digest} to ${plan.tags.map(formatReference).join(', ')}.`);
    return undefined;
  }
  if (!clientFor) throw new Error('publishing without registry clients');
  const content = { ...(await publishContent(result)), mountSources };
  const published =
    inputs.mode === 'package' ? { tags: [], stats: await pushContent({ ...content, index: undefined }, plan.tags, clientFor) } : await publish(content, plan.tags, clientFor);
  if (inputs.mode === 'package') core.info('mode: package: manifests pushed by digest, no tag written; run mode: merge with the manifests outputs.');
  const { stats } = published;
  core.info(`Uploaded ${stats.uploaded} blobs (${stats.bytesUploaded} bytes), mounted ${stats.mounted}, ${stats.existing} already present; ${retryStats.retries} retries.`);
  return published;
}
