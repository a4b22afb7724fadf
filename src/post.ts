import * as core from '@actions/core';
import {entriesToSave, saveToActionsCache} from './cache/actions-cache.js';
import {errorMessage} from './util/errors.js';

/** The post step: save tools and dependencies downloaded this run to the Actions cache. Never fails the job. */
export async function runPost(): Promise<void> {
  try {
    for (const entry of entriesToSave()) await saveToActionsCache(entry.paths, entry.key);
  } catch (error) {
    core.warning(`Could not save to the Actions cache: ${errorMessage(error)}`);
  }
}
