import * as core from '@actions/core';
import path from 'node:path';
import {getInputs, summaryWanted} from './inputs/inputs.js';
import {runMerge} from './modes/merge.js';
import {runRelease} from './modes/all.js';
import {runPublish} from './modes/publish.js';
import {runSmoke} from './modes/smoke.js';
import {describeFailure, type FailureReport} from './report/failure.js';
import {RunProgress} from './report/progress.js';
import {writeFailureSummary} from './report/summary.js';
import {cancelledBy, installCancellation} from './util/cancel.js';
import * as log from './util/log.js';

/**
 * The action's main step. `mode` splits a release across jobs: all (build, package, smoke,
 * publish), package (no tags), merge (the index of package jobs under the tags), smoke (pull
 * and test natively on this runner).
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  installCancellation();
  const progress = new RunProgress();
  try {
    const inputs = getInputs(undefined, env);
    core.debug(`mode ${inputs.mode}, packager ${inputs.packager}, format ${inputs.format}, push ${inputs.push}; Node.js ${process.version} on ${process.platform}/${process.arch}`);
    if (inputs.mode === 'merge') await runMerge(inputs, env, progress);
    else if (inputs.mode === 'smoke') await runSmoke(inputs, env, progress);
    else if (inputs.mode === 'publish') await runPublish(inputs, env, progress);
    else await runRelease(inputs, env, progress);
  } catch (error) {
    const failure = fail(error, env);
    await writeFailureSummary(failure, progress, summaryWanted(env));
  }
}

/**
 * One sentence as an error annotation (escaped by the toolkit), on the file and line it is
 * about when it names one (a buildpack.toml, a package.toml) so GitHub shows it there; exit
 * code 1; the output that explains it before it; the stack only when debug logging is on.
 */
export function fail(error: unknown, env: NodeJS.ProcessEnv = process.env): FailureReport {
  const failure: FailureReport = cancelledBy
    ? {sentence: `The run was cancelled (${cancelledBy}): child processes were stopped and the staging and work folders removed, and no tag was written after the signal.`, kind: 'user'}
    : describeFailure(error);
  if (failure.details?.trim()) log.info(failure.details.trimEnd());
  process.exitCode = 1;
  core.error(failure.sentence, failure.file ? annotationOf(failure, env) : undefined);
  if (core.isDebug() && error instanceof Error && error.stack) core.debug(error.stack);
  return failure;
}

/** Where GitHub annotates: the path relative to the workspace (how it names files in a commit). */
function annotationOf(failure: FailureReport, env: NodeJS.ProcessEnv): core.AnnotationProperties {
  const workspace = env.GITHUB_WORKSPACE ? path.resolve(env.GITHUB_WORKSPACE) : undefined;
  const file = failure.file as string;
  const relative = workspace ? path.relative(workspace, path.resolve(file)) : '';
  const inWorkspace = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return {
    file: (inWorkspace ? relative : file).split(path.sep).join('/'),
    ...(failure.line ? {startLine: failure.line} : {}),
    ...(failure.line && failure.column ? {startColumn: failure.column} : {})
  };
}
