import * as core from '@actions/core';
import { getInputs } from './inputs/inputs.js';
import { runMerge } from './modes/merge.js';
import { runRelease } from './modes/release.js';
import { runPublish } from './modes/publish.js';
import { runSmoke } from './modes/smoke.js';
import { describeFailure } from './report/failure.js';
import { cancelledBy, installCancellation } from './util/cancel.js';
import * as log from './util/log.js';

/**
 * The action's main step. `mode` splits a release across jobs: all (build, package, smoke,
 * publish), package (no tags), merge (the index of package jobs under the tags), smoke (pull
 * and test natively on this runner).
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  installCancellation();
  try {
    const inputs = getInputs(undefined, env);
    if (inputs.mode === 'merge') await runMerge(inputs, env);
    else if (inputs.mode === 'smoke') await runSmoke(inputs, env);
    else if (inputs.mode === 'publish') await runPublish(inputs, env);
    else await runRelease(inputs, env);
  } catch (error) {
    fail(error);
  }
}

/**
 * One sentence via setFailed (the whole message in one annotation, escaped by the toolkit),
 * the output that explains it before it, and the stack only when debug logging is on.
 */
export function fail(error: unknown): void {
  const failure = cancelledBy
    ? { sentence: `The run was cancelled (${cancelledBy}): child processes were stopped and the staging and work folders removed, and no tag was written after the signal.`, details: undefined }
    : describeFailure(error);
  if (failure.details?.trim()) log.info(failure.details.trimEnd());
  core.setFailed(failure.sentence);
  if (core.isDebug() && error instanceof Error && error.stack) core.debug(error.stack);
}
