import type { PackageResult } from '../package/package.js';
import type { ReleasePlan } from '../plan/plan.js';
import type { Logger } from '../registry/client.js';
import { publish, pushContent, type PublishResult } from '../registry/write.js';
import { formatReference } from '../registry/reference.js';
import * as log from '../util/log.js';
import { publishContent } from './content.js';
import { LOGGER, type Registries } from './registries.js';

export interface ReleasePublish {
  push: boolean;
  /** package: blobs and manifests by digest, no tag. */
  mode: 'all' | 'package';
  /** Told of each tag written (the run's progress); the action's log otherwise. */
  logger?: Logger;
}

/** What a publish did, with the clients' request and retry counts. */
export type PublishReport = PublishResult & { requests: number; retries: number };

/**
 * Publishes the packaged layout to the plan's tags, unless there are none or this is a dry run
 * (push: false), in which case nothing is sent. With mode: package, only blobs and manifests go
 * up, by digest, and no tag is written. Returns undefined when nothing was published.
 */
export async function publishRelease(
  result: PackageResult,
  plan: Pick<ReleasePlan, 'tags'>,
  options: ReleasePublish,
  registries: Registries | undefined,
  mountSources?: Map<string, { registry: string; repository: string }>,
): Promise<PublishReport | undefined> {
  if (!plan.tags.length) {
    log.info('No tags: packaged only.');
    return undefined;
  }
  if (!options.push) {
    log.info(`Dry run (push: false): would publish ${result.index.digest} to ${plan.tags.map(formatReference).join(', ')}.`);
    return undefined;
  }
  if (!registries) throw new Error('publishing without registry clients');
  const content = { ...(await publishContent(result)), mountSources };
  const logger = options.logger ?? LOGGER;
  const published =
    options.mode === 'package' ? { tags: [], stats: await pushContent({ ...content, index: undefined }, plan.tags, registries, logger) } : await publish(content, plan.tags, registries, logger);
  if (options.mode === 'package') log.info('mode: package: manifests pushed by digest, no tag written; run mode: merge with the manifests outputs.');
  const { stats } = published;
  const { requests, retries } = registries.stats();
  log.info(`Uploaded ${stats.uploaded} blobs (${stats.bytesUploaded} bytes), mounted ${stats.mounted}, ${stats.existing} already present; ${requests} requests, ${retries} retries.`);
  return { ...published, requests, retries };
}
