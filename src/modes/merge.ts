import {readDescriptor} from '../buildpack/descriptor.js';
import {readPackageConfig} from '../composite/package-toml.js';
import type {Inputs} from '../inputs/inputs.js';
import {canonicalJson, sha256Digest} from '../oci/digest.js';
import type {Descriptor} from '../oci/types.js';
import {releaseIndex} from '../image/release-index.js';
import {planRelease} from '../plan/plan.js';
import {formatPlatform} from '../platform/platform.js';
import {loginOf, openRegistries} from '../publish/registries.js';
import {publish} from '../registry/write.js';
import {formatReference, repositoryName} from '../registry/reference.js';
import {parseManifestRecords} from '../inputs/manifests.js';
import type {RunMetadata} from '../report/outputs.js';
import {setOutputs} from '../report/outputs.js';
import {RunProgress} from '../report/progress.js';
import {writeSummary} from '../report/summary.js';
import {UserError} from '../util/errors.js';
import {checkExpectedDigest} from '../publish/expected.js';
import * as log from '../util/log.js';

/**
 * mode: merge: the index over the manifests that mode: package jobs pushed, under every tag.
 * Built by the same code from the same inputs, it is byte-identical to what mode: all writes;
 * a tag is written only once every manifest it names is in that repository.
 */
export async function runMerge(inputs: Inputs, env: NodeJS.ProcessEnv, progress: RunProgress = new RunProgress()): Promise<void> {
  const descriptor = await readDescriptor(inputs.path);
  const packageConfig = descriptor.order ? await readPackageConfig(inputs.path, descriptor.file) : undefined;
  progress.stage = 'Plan';
  const plan = planRelease(inputs, descriptor, env, packageConfig);
  progress.module = {id: descriptor.id, version: plan.version};
  const records = parseManifestRecords(inputs.manifests);
  if (!plan.tags.length) throw new UserError('Input "tags" is empty, but mode: merge exists to write the index under tags; set tags to the same references the package jobs pushed to.');
  const manifests: Descriptor[] = records.map(r => ({mediaType: r.mediaType, digest: r.digest, size: r.size}));
  if (plan.annotationSet.items.some(a => a.level === 'manifest')) {
    log.info('The manifest: annotations are on the manifests the package jobs pushed (given the same annotations); this job writes only the index and its descriptors.');
  }
  const index = releaseIndex(
    plan,
    records.map((r, i) => ({manifest: manifests[i], platform: r.platform, experimental: r.experimental}))
  );
  const bytes = canonicalJson(index);
  const descriptorOfIndex: Descriptor = {mediaType: index.mediaType, digest: sha256Digest(bytes), size: bytes.length};
  log.info(`Index ${descriptorOfIndex.digest} over ${records.map(r => `${formatPlatform(r.platform)} ${r.digest}`).join(', ')}`);

  checkExpectedDigest(descriptorOfIndex.digest, inputs.expectedDigest);
  let tags: string[] = [];
  if (inputs.push) {
    const clients = await openRegistries(
      plan.tags.map(t => t.registry),
      loginOf(inputs, plan.tags[0].registry),
      env
    );
    progress.tagsPlanned = plan.tags.length;
    tags = (await progress.step('Publish', () => publish({existing: manifests, index: {descriptor: descriptorOfIndex, bytes}}, plan.tags, clients, progress.logger()))).tags;
  } else {
    log.info(`Dry run (push: false): would publish ${descriptorOfIndex.digest} to ${plan.tags.map(formatReference).join(', ')}.`);
  }
  const metadata: RunMetadata = {
    id: descriptor.id,
    version: plan.version,
    digest: descriptorOfIndex.digest,
    mediaType: descriptorOfIndex.mediaType,
    size: descriptorOfIndex.size,
    layout: '',
    manifests: records,
    imageSizes: {},
    'cnb-files': {},
    annotations: plan.annotations,
    image: `${repositoryName(plan.tags[0])}@${descriptorOfIndex.digest}`,
    tags,
    tools: {},
    smoke: []
  };
  setOutputs(metadata);
  await writeSummary(metadata, inputs.summary);
}
