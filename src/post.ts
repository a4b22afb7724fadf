import * as core from '@actions/core';
import { saveToActionsCache } from './tools/cache.js';
import { toolsToCache } from './tools/tools.js';
import { errorMessage } from './util/errors.js';

/** The post step: save freshly downloaded tools to the Actions cache. Never fails the job. */
export async function runPost(): Promise<void> {
  try {
    for (const entry of toolsToCache()) await saveToActionsCache(entry.paths, entry.key);
  } catch (error) {
    core.warning(`Could not save tools to the Actions cache: ${errorMessage(error)}`);
  }
}
