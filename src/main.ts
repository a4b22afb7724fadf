import * as core from '@actions/core';
import { getInputs } from './inputs/inputs.js';
import { runMerge } from './modes/merge.js';
import { runRelease } from './modes/release.js';
import { runSmoke } from './modes/smoke.js';
import { InputError, errorMessage } from './util/errors.js';

/**
 * The action's main step. `mode` splits a release across jobs: all (build, package, smoke,
 * publish), package (no tags), merge (the index of package jobs under the tags), smoke (pull
 * and test natively on this runner).
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const inputs = getInputs();
    if (inputs.mode === 'merge') await runMerge(inputs, env);
    else if (inputs.mode === 'smoke') await runSmoke(inputs, env);
    else await runRelease(inputs, env);
  } catch (error) {
    fail(error);
  }
}

/** One sentence via setFailed; the stack only when debug logging is on. */
export function fail(error: unknown): void {
  const message = errorMessage(error);
  const [sentence, ...details] = message.split('\n');
  if (details.length) core.info(details.join('\n'));
  core.setFailed(error instanceof InputError ? sentence : `Internal error: ${sentence}`);
  if (core.isDebug() && error instanceof Error && error.stack) core.debug(error.stack);
}
