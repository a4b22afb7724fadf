import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {normaliseVersionInput} from '../buildpack/version.js';
import type {Inputs} from '../inputs/inputs.js';
import {BlobStore} from '../oci/store.js';
import {openLayout, readLayout} from '../output/read-layout.js';
import {parseTags} from '../plan/plan.js';
import {formatPlatform} from '../platform/platform.js';
import {checkExpectedDigest} from '../publish/expected.js';
import {loginOf, openRegistries} from '../publish/registries.js';
import {publish} from '../registry/write.js';
import {formatReference, repositoryName} from '../registry/reference.js';
import type {RunMetadata} from '../report/outputs.js';
import {imageSize, setOutputs} from '../report/outputs.js';
import {RunProgress} from '../report/progress.js';
import {writeSummary} from '../report/summary.js';
import {releaseTemporary, trackTemporary} from '../util/cancel.js';
import {UserError} from '../util/errors.js';
import * as log from '../util/log.js';

/**
 * mode: publish: an OCI image layout written by an earlier run (its `layout` output, or a .tar
 * or .tar.gz of it: how it travels as an artifact or a release asset), published as it is: the
 * index and everything it references, byte for byte, with the order, read-back and idempotency
 * of mode: all. No buildpack directory is needed; every blob is checked against its digest
 * before anything is sent.
 */
export async function runPublish(inputs: Inputs, env: NodeJS.ProcessEnv, progress: RunProgress = new RunProgress()): Promise<void> {
  if (!inputs.layout) {
    throw new UserError('Input "layout" is empty, but mode: publish publishes a layout; set it to the layout output of the packaging run, or to a .tar/.tar.gz of that directory (the -oci-layout.tar release asset).');
  }
  if (inputs.annotations.items.length) {
    throw new UserError('Input "annotations" is set, but mode: publish publishes the layout byte for byte, annotations as they were written; give the annotations to the run that packaged it, or remove them here.');
  }
  const tags = parseTags(inputs.tags);
  if (!tags.length) throw new UserError('Input "tags" is empty, but mode: publish exists to write the index under tags; set tags to the references to publish to.');
  const work = await mkdtemp(path.join(env.RUNNER_TEMP || tmpdir(), 'multiarch-buildpack-work-'));
  trackTemporary(work);
  try {
    const dir = await progress.step('Read the layout', () => openLayout(inputs.layout as string, work));
    const layout = await readLayout(dir, inputs.layout, normaliseVersionInput(inputs.version));
    if (layout.id) progress.module = {id: layout.id, version: layout.version ?? layout.name ?? ''};
    log.info(`${layout.index.descriptor.digest} (${layout.name ?? 'unnamed'}) over ${layout.records.map(r => `${formatPlatform(r.platform)} ${r.digest}`).join(', ')}`);
    checkExpectedDigest(layout.index.descriptor.digest, inputs.expectedDigest);
    let pushed: string[] = [];
    let push: RunMetadata['push'];
    if (inputs.push) {
      const clients = await openRegistries(
        tags.map(t => t.registry),
        loginOf(inputs, tags[0].registry),
        env
      );
      progress.tagsPlanned = tags.length;
      const result = await progress.step('Publish', () => {
        progress.contentSent = true;
        return publish({store: new BlobStore(dir), manifests: layout.manifests, referrers: layout.referrers, index: layout.index}, tags, clients, progress.logger());
      });
      pushed = result.tags;
      push = {...result.stats, ...clients.stats()};
      log.info(`Uploaded ${result.stats.uploaded} blobs (${result.stats.bytesUploaded} bytes), mounted ${result.stats.mounted}, ${result.stats.existing} already present.`);
    } else {
      log.info(`Dry run (push: false): would publish ${layout.index.descriptor.digest} to ${tags.map(formatReference).join(', ')}.`);
    }
    const metadata: RunMetadata = {
      id: layout.id ?? '',
      version: layout.version ?? layout.name ?? '',
      digest: layout.index.descriptor.digest,
      mediaType: layout.index.descriptor.mediaType,
      size: layout.index.descriptor.size,
      layout: inputs.layout,
      manifests: layout.records,
      imageSizes: Object.fromEntries(layout.records.map((r, i) => [formatPlatform(r.platform), imageSize(layout.manifests[i].blobs)])),
      'cnb-files': {},
      annotations: layout.annotations,
      image: `${repositoryName(tags[0])}@${layout.index.descriptor.digest}`,
      tags: pushed,
      push,
      tools: {},
      smoke: []
    };
    setOutputs(metadata);
    await writeSummary(metadata, inputs.summary);
  } finally {
    await rm(work, {recursive: true, force: true});
    releaseTemporary(work);
  }
}
