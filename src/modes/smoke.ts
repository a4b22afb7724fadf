import * as core from '@actions/core';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {ModuleKind} from '../buildpack/descriptor.js';
import {BUILDPACK_LAYERS_LABEL, BUILDPACKAGE_METADATA_LABEL, EXTENSION_LAYERS_LABEL} from '../image/labels.js';
import type {Inputs} from '../inputs/inputs.js';
import {BlobStore} from '../oci/store.js';
import type {ImageConfig} from '../oci/types.js';
import {parsePlatformList, formatPlatform, samePlatform} from '../platform/platform.js';
import {parseTags} from '../plan/plan.js';
import {loginOf, openRegistries} from '../publish/registries.js';
import {downloadBlob} from '../registry/blobs.js';
import {readImage} from '../registry/read.js';
import {formatReference} from '../registry/reference.js';
import {releaseTemporary, trackTemporary} from '../util/cancel.js';
import * as log from '../util/log.js';
import {parseManifestRecords} from '../inputs/manifests.js';
import {smokeRecord} from '../report/outputs.js';
import {runnerPlatform} from '../smoke/runner.js';
import {smokeTest, type SmokeSubject} from '../smoke/smoke-test.js';
import {RegistryError} from '../registry/errors.js';
import {UserError} from '../util/errors.js';
import {RunProgress} from '../report/progress.js';
import {writeSmokeSummary} from '../report/summary.js';

/**
 * mode: smoke: on this runner (an arm64 runner, say), pull each listed platform by digest from
 * the first tag's repository, where mode: package pushed it, and smoke-test it natively.
 * Which platforms: `architectures` when set, else the runner's own.
 */
export async function runSmoke(inputs: Inputs, env: NodeJS.ProcessEnv, progress: RunProgress = new RunProgress()): Promise<void> {
  progress.stage = 'Smoke test';
  const records = parseManifestRecords(inputs.manifests);
  const tags = parseTags(inputs.tags);
  if (!tags.length) throw new UserError('Input "tags" is empty, but mode: smoke pulls from the first tag\'s repository; set tags as in the package job.');
  const wanted = inputs.architectures.length ? parsePlatformList(inputs.architectures, 'Input "architectures"') : [runnerPlatform()];
  const selected = records.filter(r => wanted.some(w => samePlatform(w, r.platform)));
  if (!selected.length) {
    throw new UserError(`Input "manifests" lists no ${wanted.map(formatPlatform).join(', ')} image to smoke-test on this runner; run mode: smoke on a runner of a listed platform, or set architectures.`);
  }
  const source = tags[0];
  const clients = await openRegistries([source.registry], loginOf(inputs, source.registry), env);
  const client = clients(source.registry);
  const scratch = await mkdtemp(path.join(env.RUNNER_TEMP || tmpdir(), 'multiarch-buildpack-smoke-'));
  trackTemporary(scratch);
  try {
    const store = new BlobStore(path.join(scratch, 'store'));
    const subjects: SmokeSubject[] = [];
    let info: {id: string; version: string; api: string; kind: ModuleKind} | undefined;
    for (const record of selected) {
      const reference = `${source.registry}/${source.repository}@${record.digest}`;
      // By digest, and checked against it: the image tested is exactly the one package pushed.
      const manifest = await readImage(client, source.repository, {mediaType: record.mediaType, digest: record.digest, size: record.size}).catch((error: unknown) => {
        if (error instanceof RegistryError && error.status === 404) throw new UserError(`${reference} does not exist; run mode: package with the same tags first.`, {cause: error});
        throw error;
      });
      const config = manifest.config;
      info ??= buildpackInfo(config, reference);
      for (const layer of manifest.layers) await downloadBlob(client, source.repository, layer, store);
      log.info(`Pulled ${formatPlatform(record.platform)} ${reference}`);
      subjects.push({platform: record.platform, layers: manifest.layers, digest: record.digest, image: reference, experimental: record.experimental});
    }
    const mode = inputs.smokeTest === 'none' ? 'native' : inputs.smokeTest;
    const results = await smokeTest(subjects, store, {mode, app: inputs.smokeApp, command: inputs.smokeCommand, scratch, ...(info as {id: string; version: string; api: string; kind: ModuleKind})});
    core.setOutput('smoke', JSON.stringify(results.map(smokeRecord)));
    await writeSmokeSummary(`${source.registry}/${source.repository}`, results.map(smokeRecord), inputs.summary);
    log.info(`Smoke-tested ${results.filter(r => r.status === 'passed').length} of ${results.length} from ${formatReference(source)}'s repository.`);
  } finally {
    await rm(scratch, {recursive: true, force: true});
    releaseTemporary(scratch);
  }
}

/** Which buildpack (or image extension) an image holds, from its labels: where its files are, and its API. */
function buildpackInfo(config: ImageConfig, reference: string): {id: string; version: string; api: string; kind: ModuleKind} {
  try {
    const labels = config.config.Labels;
    const meta = JSON.parse(labels[BUILDPACKAGE_METADATA_LABEL]) as {id: string; version: string};
    const kind: ModuleKind = labels[EXTENSION_LAYERS_LABEL] && !labels[BUILDPACK_LAYERS_LABEL] ? 'extension' : 'buildpack';
    const layers = JSON.parse(labels[kind === 'extension' ? EXTENSION_LAYERS_LABEL : BUILDPACK_LAYERS_LABEL]) as Record<string, Record<string, {api?: string}>>;
    if (typeof meta.id !== 'string' || typeof meta.version !== 'string') throw new Error('no id and version');
    return {id: meta.id, version: meta.version, api: layers[meta.id]?.[meta.version]?.api ?? '0.10', kind};
  } catch (error) {
    throw new UserError(`${reference} has no readable buildpack labels, so it is not a buildpack image; check the manifests input.`, {cause: error});
  }
}
