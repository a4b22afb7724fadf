import * as core from '@actions/core';
import {errorMessage} from '../util/errors.js';
import * as log from '../util/log.js';

/**
 * @actions/cache (and the Azure storage client under it) is loaded only by a run that uses it:
 * most runs never touch the cache, and loading it costs every run time and memory.
 */
const actionsCache = (): Promise<typeof import('@actions/cache')> => import(/* webpackMode: "eager" */ '@actions/cache');

/**
 * The Actions cache, as a best effort: unavailable (outside GitHub, or no cache service) means
 * skipped quietly; any failure is a warning, never a failed step.
 */
export async function restoreFromActionsCache(paths: string[], key: string): Promise<boolean> {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) return false;
  try {
    return (await cache.restoreCache(paths, key)) === key;
  } catch (error) {
    core.warning(`Could not restore ${key} from the Actions cache (${errorMessage(error)}); downloading instead.`);
    return false;
  }
}

export async function saveToActionsCache(paths: string[], key: string): Promise<void> {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) return;
  try {
    await cache.saveCache(paths, key);
    log.info(`Saved ${key} to the Actions cache.`);
  } catch (error) {
    // Another job saving the same immutable key first is normal.
    if (error instanceof cache.ReserveCacheError) log.info(`${key} is already in the Actions cache.`);
    else core.warning(`Could not save ${key} to the Actions cache (${errorMessage(error)}).`);
  }
}

export interface CacheEntry {
  paths: string[];
  key: string;
}

const STATE_KEY = 'actions-cache-entries';
const remembered: CacheEntry[] = [];

/**
 * Remembers entries for the post step to save (tools and dependencies downloaded this run),
 * adding to what earlier calls remembered.
 */
export function saveInPostStep(entries: CacheEntry[]): void {
  if (!entries.length) return;
  remembered.push(...entries);
  core.saveState(STATE_KEY, JSON.stringify(remembered));
}

/** What the main step asked the post step to save. */
export function entriesToSave(): CacheEntry[] {
  const state = core.getState(STATE_KEY);
  if (!state) return [];
  try {
    return JSON.parse(state) as CacheEntry[];
  } catch {
    return [];
  }
}
