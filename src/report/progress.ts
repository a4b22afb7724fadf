import * as core from '@actions/core';
import type {Logger} from '../registry/client.js';
import * as log from '../util/log.js';

/**
 * What a run has done so far, for the failure summary to say truthfully how far it got: the
 * stage it was in, the module it was releasing, and what reached a registry (content pushed by
 * digest, tags written). Made by main.ts for each run and handed to the mode.
 */
export class RunProgress {
  stage = 'Read inputs';
  module?: {id: string; version: string};
  /** Blobs or manifests may have been sent (by digest: no tag names them yet). */
  contentSent = false;
  /** Tags written (each names the complete index), in order. */
  readonly tagsWritten: string[] = [];
  /** How many tags the run meant to write. */
  tagsPlanned = 0;

  /** Runs one stage of the pipeline as a log group, remembering its name. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.stage = name;
    return core.group(name, fn);
  }

  /** The registry library's logger, telling this record when a tag has been written. */
  logger(): Logger {
    return {
      debug: m => core.debug(m),
      info: m => log.info(m),
      tagWritten: reference => {
        this.tagsWritten.push(reference);
      }
    };
  }
}
