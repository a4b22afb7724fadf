/**
 * What the action writes to disk: the image index (src/oci/image-index.ts) and the release's
 * index with its annotations (src/image/release-index.ts), .cnb files (src/image/cnb.ts) and
 * importing them back (src/image/import.ts), the staging folder and output marker
 * (src/output/staging.ts), the packaged OCI layout (src/output/layout.ts) and the release
 * assets (src/output/assets.ts). GNU tar and skopeo check the archives and layouts from outside.
 */
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import {mkdir, readFile, readdir, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, it} from 'node:test';
import {parseDescriptor} from '../../src/buildpack/descriptor.js';
import {scanTree} from '../../src/buildpack/files.js';
import {platformTree} from '../../src/buildpack/tree.js';
import {cnbFileName, writeCnb} from '../../src/image/cnb.js';
import {creationTime, writeBuildpackImage, type PlatformImage} from '../../src/image/image.js';
import {importCnb} from '../../src/image/import.js';
import {EXPERIMENTAL_ANNOTATION, releaseIndex} from '../../src/image/release-index.js';
import {annotationsAt, parseAnnotations} from '../../src/inputs/annotations.js';
import {canonicalJson, sha256Digest} from '../../src/oci/digest.js';
import {imageIndex} from '../../src/oci/image-index.js';
import {REF_NAME_ANNOTATION, VIEW_OF_ANNOTATION} from '../../src/oci/layout.js';
import {BlobStore} from '../../src/oci/store.js';
import {MediaType, type Descriptor, type Format, type ImageConfig, type ImageIndex, type ImageManifest} from '../../src/oci/types.js';
import {writeReleaseAssets} from '../../src/output/assets.js';
import {packageBuildpack, type StagedPackage} from '../../src/output/layout.js';
import {readLayout} from '../../src/output/read-layout.js';
import {OUTPUT_MARKER, checkOutput, commitStaging, createStaging, discardStaging} from '../../src/output/staging.js';
import type {ReleasePlan} from '../../src/plan/plan.js';
import {parsePlatform, type Platform} from '../../src/platform/platform.js';
import {UserError} from '../../src/util/errors.js';
import {execOk} from '../helpers/exec.js';
import {tempDir} from '../helpers/fixtures.js';

const VERSION = '1.2.3';
const amd64 = parsePlatform('amd64', 'test');
const arm64 = parsePlatform('arm64', 'test');
const armv7 = parsePlatform('linux/arm/v7', 'test');
const DESCRIPTOR_TEXT = `api = "0.10"
[buildpack]
id = "acme/tiny"
version = "{{ .version }}"
[[targets]]
os = "linux"
arch = "amd64"
[[targets]]
os = "linux"
arch = "arm64"
[[targets]]
os = "linux"
arch = "arm"
variant = "v7"
`;
const descriptor = parseDescriptor(DESCRIPTOR_TEXT, 'buildpack.toml');

const sha = (c: string): string => `sha256:${c.repeat(64)}`;
const json = <T>(bytes: Buffer | string): T => JSON.parse(bytes.toString()) as T;
const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false
  );

/** A buildpack whose arm64 image ships its own bin/build, so the platforms' layers differ. */
async function buildpackSource(): Promise<string> {
  const dir = await tempDir('output-bp-');
  await mkdir(path.join(dir, 'bin'));
  await mkdir(path.join(dir, 'linux', 'arm64', 'bin'), {recursive: true});
  await writeFile(path.join(dir, 'bin', 'detect'), '#!/bin/sh\nexit 0\n', {mode: 0o755});
  await writeFile(path.join(dir, 'bin', 'build'), '#!/bin/sh\necho shared\n', {mode: 0o755});
  await writeFile(path.join(dir, 'linux', 'arm64', 'bin', 'build'), '#!/bin/sh\necho arm64\n', {mode: 0o755});
  return dir;
}

async function writeImages(store: BlobStore, platforms: Platform[], format: Format = 'oci'): Promise<PlatformImage[]> {
  const source = scanTree(await buildpackSource());
  const images: PlatformImage[] = [];
  for (const platform of platforms) {
    const tree = platformTree({source, built: [], descriptor: DESCRIPTOR_TEXT, platform});
    images.push(await writeBuildpackImage({descriptor, version: VERSION, platform, tree, created: creationTime({}), format}, store));
  }
  return images;
}

function releasePlan(format: Format, platforms: Platform[], experimental: Platform[], annotations = ''): ReleasePlan {
  const annotationSet = parseAnnotations(annotations);
  return {
    version: VERSION,
    platforms,
    experimental,
    annotations: format === 'docker' ? {} : {'org.opencontainers.image.version': VERSION, ...annotationsAt(annotationSet, 'index')},
    annotationSet,
    created: creationTime({}),
    format,
    tags: [],
    tools: []
  };
}

const manifestOf = (digest: string, size = 100): Descriptor => ({mediaType: MediaType.ImageManifest, digest, size});

/** GNU tar's verbose listing as [mode, owner, size, date time, name], in UTC. */
function tarListing(file: string): string[][] {
  return execOk('tar', ['--utc', '--full-time', '-tvf', file], {env: {...process.env, TZ: 'UTC', LC_ALL: 'C'}})
    .trim()
    .split('\n')
    .map(line => {
      const [mode, owner, size, date, time, name] = line.split(/\s+/);
      return [mode, owner, size, `${date} ${time}`, name];
    });
}

describe('imageIndex', () => {
  it('lists the manifests in the order given, each with its platform (a variant only where there is one), and no annotations when none are given', () => {
    const index = imageIndex(
      MediaType.ImageIndex,
      [
        {manifest: manifestOf(sha('b'), 10), platform: {architecture: 'arm', os: 'linux', variant: 'v7'}},
        {manifest: manifestOf(sha('a'), 20), platform: {architecture: 'amd64', os: 'linux'}, annotations: {}}
      ],
      {}
    );
    assert.equal(
      canonicalJson(index).toString(),
      `{"schemaVersion":2,"mediaType":"${MediaType.ImageIndex}","manifests":[` +
        `{"mediaType":"${MediaType.ImageManifest}","digest":"${sha('b')}","size":10,"platform":{"architecture":"arm","os":"linux","variant":"v7"}},` +
        `{"mediaType":"${MediaType.ImageManifest}","digest":"${sha('a')}","size":20,"platform":{"architecture":"amd64","os":"linux"}}]}`
    );
    assert.equal('annotations' in index, false);
    assert.equal('annotations' in index.manifests[1], false, 'an empty annotations map is left out, not written as {}');
  });

  it('writes the annotations of the index and of each entry with sorted keys, and copies only the descriptor fields it knows', () => {
    const manifest = {...manifestOf(sha('c'), 30), annotations: {stray: 'x'}, platform: {architecture: 'ppc64le', os: 'linux'}};
    const index = imageIndex(MediaType.DockerManifestList, [{manifest, platform: {architecture: 'arm64', os: 'linux', variant: ''}, annotations: {'z.key': '1', 'a.key': '2', 'm.key': '3'}}], {zeta: 'z', alpha: 'a'});
    assert.equal(index.mediaType, MediaType.DockerManifestList);
    assert.deepEqual(Object.keys(index.annotations ?? {}), ['alpha', 'zeta']);
    assert.deepEqual(Object.keys(index.manifests[0].annotations ?? {}), ['a.key', 'm.key', 'z.key']);
    assert.deepEqual(index.manifests[0].platform, {architecture: 'arm64', os: 'linux'}, "the entry's platform, not the descriptor's, and no empty variant");
    assert.equal(index.manifests[0].annotations?.stray, undefined, "the descriptor's own annotations are not carried over");
  });
});

describe('releaseIndex', () => {
  it('marks experimental platforms, puts manifest-descriptor annotations on the entries of their platforms and the plan annotations on the index', () => {
    const plan = releasePlan(
      'oci',
      [amd64, arm64, armv7],
      [arm64, armv7],
      [
        'org.opencontainers.image.title=Tiny',
        'manifest-descriptor:org.opencontainers.image.description=every platform',
        'manifest-descriptor[linux/arm64]:com.example.arch=arm64 only',
        'manifest-descriptor[linux/arm64]:org.opencontainers.image.description=arm64 wins',
        'manifest:com.example.manifest=not on the index',
        'index-descriptor:com.example.layout=not on the index either'
      ].join('\n')
    );
    const entries = [amd64, arm64, armv7].map((platform, i) => ({manifest: manifestOf(sha(String(i + 1))), platform, experimental: plan.experimental.includes(platform)}));
    const index = releaseIndex(plan, entries);
    assert.equal(index.mediaType, MediaType.ImageIndex);
    assert.deepEqual(index.annotations, {'org.opencontainers.image.title': 'Tiny', 'org.opencontainers.image.version': VERSION});
    assert.deepEqual(
      index.manifests.map(m => [m.digest, m.platform, m.annotations]),
      [
        [sha('1'), {architecture: 'amd64', os: 'linux'}, {'org.opencontainers.image.description': 'every platform'}],
        [sha('2'), {architecture: 'arm64', os: 'linux'}, {'com.example.arch': 'arm64 only', [EXPERIMENTAL_ANNOTATION]: 'true', 'org.opencontainers.image.description': 'arm64 wins'}],
        [sha('3'), {architecture: 'arm', os: 'linux', variant: 'v7'}, {[EXPERIMENTAL_ANNOTATION]: 'true', 'org.opencontainers.image.description': 'every platform'}]
      ]
    );
    assert.deepEqual(Object.keys(index.manifests[1].annotations ?? {}), ['com.example.arch', EXPERIMENTAL_ANNOTATION, 'org.opencontainers.image.description']);
  });

  it('gives a Docker manifest list without annotations when the plan has none, and entries without annotations', () => {
    const plan = releasePlan('docker', [amd64, arm64], []);
    const index = releaseIndex(plan, [
      {manifest: {...manifestOf(sha('d')), mediaType: MediaType.DockerManifest}, platform: amd64, experimental: false},
      {manifest: {...manifestOf(sha('e')), mediaType: MediaType.DockerManifest}, platform: arm64, experimental: false}
    ]);
    assert.equal(index.mediaType, MediaType.DockerManifestList);
    assert.equal(
      canonicalJson(index).toString(),
      `{"schemaVersion":2,"mediaType":"${MediaType.DockerManifestList}","manifests":[` +
        `{"mediaType":"${MediaType.DockerManifest}","digest":"${sha('d')}","size":100,"platform":{"architecture":"amd64","os":"linux"}},` +
        `{"mediaType":"${MediaType.DockerManifest}","digest":"${sha('e')}","size":100,"platform":{"architecture":"arm64","os":"linux"}}]}`
    );
  });
});

describe('.cnb files', () => {
  it("are named as pack names them: the escaped id, the version and the platform's slug", () => {
    const image = (platform: Platform): PlatformImage => ({platform, manifest: manifestOf(sha('a')), config: manifestOf(sha('b')), layers: [], diffIDs: []});
    assert.equal(cnbFileName('acme/tiny', VERSION, image(arm64)), 'acme_tiny-1.2.3-linux-arm64.cnb');
    assert.equal(cnbFileName('paketo-buildpacks/go/dist', '0.1.0-rc.1', image(armv7)), 'paketo-buildpacks_go_dist-0.1.0-rc.1-linux-arm-v7.cnb');
    assert.equal(cnbFileName('tiny', VERSION, image(amd64)), 'tiny-1.2.3-linux-amd64.cnb');
  });

  it('hold a normalised tar of an OCI layout with exactly that image, its blobs as the store has them', async () => {
    const dir = await tempDir('cnb-');
    const store = new BlobStore(path.join(dir, 'store'));
    const [image] = await writeImages(store, [arm64]);
    const file = path.join(dir, cnbFileName(descriptor.id, VERSION, image));
    await writeCnb(file, image, store);
    const blobs = [image.config, image.manifest, ...image.layers].map(d => d.digest.slice('sha256:'.length)).sort();
    const listing = tarListing(file);
    assert.deepEqual(
      listing.map(([mode, owner, , mtime, name]) => [mode, owner, mtime, name]),
      [
        ['-rw-r--r--', '0/0', '1980-01-01 00:00:01', 'oci-layout'],
        ['-rw-r--r--', '0/0', '1980-01-01 00:00:01', 'index.json'],
        ['drwxr-xr-x', '0/0', '1980-01-01 00:00:01', 'blobs'],
        ['drwxr-xr-x', '0/0', '1980-01-01 00:00:01', 'blobs/sha256'],
        ...blobs.map(hex => ['-rw-r--r--', '0/0', '1980-01-01 00:00:01', `blobs/sha256/${hex}`])
      ]
    );
    const out = path.join(dir, 'extracted');
    await mkdir(out);
    execOk('tar', ['-xf', file, '-C', out]);
    for (const d of [image.config, image.manifest, ...image.layers]) {
      const bytes = await readFile(path.join(out, 'blobs', 'sha256', d.digest.slice('sha256:'.length)));
      assert.equal(sha256Digest(bytes), d.digest);
      assert.equal(bytes.length, d.size);
      assert.deepEqual(bytes, await readFile(store.blobPath(d.digest)));
    }
    assert.deepEqual(json(await readFile(path.join(out, 'oci-layout'))), {imageLayoutVersion: '1.0.0'});
    assert.deepEqual(json(await readFile(path.join(out, 'index.json'))), {schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [image.manifest]});
    assert.equal(execOk('skopeo', ['inspect', '--raw', `oci:${out}`]), (await readFile(store.blobPath(image.manifest.digest))).toString());
    assert.deepEqual(await readdir(dir), ['acme_tiny-1.2.3-linux-arm64.cnb', 'extracted', 'store'], 'no .partial file is left');
  });

  it('carry a blob listed twice once, and are the same bytes when written again', async () => {
    const dir = await tempDir('cnb-twice-');
    const store = new BlobStore(dir);
    const [image] = await writeImages(store, [amd64]);
    const doubled: PlatformImage = {...image, layers: [image.layers[0], image.layers[0]]};
    await writeCnb(path.join(dir, 'a.cnb'), doubled, store);
    await writeCnb(path.join(dir, 'b.cnb'), doubled, store);
    const names = tarListing(path.join(dir, 'a.cnb')).map(l => l[4]);
    assert.equal(names.filter(n => n === `blobs/sha256/${image.layers[0].digest.slice('sha256:'.length)}`).length, 1);
    assert.equal(names.length, 4 + 3);
    assert.deepEqual(await readFile(path.join(dir, 'a.cnb')), await readFile(path.join(dir, 'b.cnb')));
  });

  it('are not left behind, whole or partial, when a blob is missing from the store', async () => {
    const dir = await tempDir('cnb-missing-');
    const store = new BlobStore(path.join(dir, 'store'));
    const [image] = await writeImages(store, [amd64]);
    const broken: PlatformImage = {...image, layers: [...image.layers, {mediaType: MediaType.Layer, digest: sha('0'), size: 12}]};
    const file = path.join(dir, 'broken.cnb');
    await assert.rejects(writeCnb(file, broken, store));
    assert.equal(await exists(file), false);
    assert.equal(await exists(`${file}.partial`), false);
  });
});

describe('importCnb', () => {
  it('reads back a .cnb that writeCnb wrote: the same layers, diffIDs, config and manifest, and leaves its scratch folder empty', async () => {
    const dir = await tempDir('import-');
    const store = new BlobStore(path.join(dir, 'store'));
    const [image] = await writeImages(store, [arm64]);
    const file = path.join(dir, 'tiny.cnb');
    await writeCnb(file, image, store);
    const scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    const target = new BlobStore(path.join(dir, 'target'));
    const imported = await importCnb(file, arm64, 'oci', target, scratch);
    assert.deepEqual(imported, image);
    for (const d of [imported.config, imported.manifest, ...imported.layers]) assert.deepEqual(await readFile(target.blobPath(d.digest)), await readFile(store.blobPath(d.digest)));
    assert.deepEqual(await readdir(scratch), []);
  });

  it("gives the config the platform the image was built for when pack wrote another, keeps the layers' digests, and writes the chosen format", async () => {
    const dir = await tempDir('import-pack-');
    const store = new BlobStore(path.join(dir, 'store'));
    const [built] = await writeImages(store, [amd64]);
    // As pack wrote it for an arm/v7 target: an empty architecture, and a plain (uncompressed) layer besides the gzipped one.
    const config = {...json<ImageConfig>(await readFile(store.blobPath(built.config.digest))), architecture: ''};
    const plain = Buffer.from('an uncompressed layer');
    const plainLayer = await store.writeBytes('application/vnd.docker.image.rootfs.diff.tar', plain);
    config.rootfs = {type: 'layers', diff_ids: [...config.rootfs.diff_ids, sha256Digest(plain)]};
    const configBlob = await store.writeJson(MediaType.DockerConfig, config);
    const layers = [{...built.layers[0], mediaType: MediaType.DockerLayer}, plainLayer];
    const manifestBlob = await store.writeJson(MediaType.DockerManifest, {schemaVersion: 2, mediaType: MediaType.DockerManifest, config: configBlob.descriptor, layers});
    const packImage: PlatformImage = {platform: armv7, manifest: manifestBlob.descriptor, config: configBlob.descriptor, layers, diffIDs: config.rootfs.diff_ids};
    const file = path.join(dir, 'pack.cnb');
    await writeCnb(file, packImage, store);

    const target = new BlobStore(path.join(dir, 'target'));
    const imported = await importCnb(file, armv7, 'oci', target, dir, {'org.example.b': '2', 'org.example.a': '1'});
    assert.deepEqual(imported.platform, armv7);
    assert.deepEqual(
      imported.layers.map(l => [l.mediaType, l.digest, l.size]),
      [
        [MediaType.Layer, built.layers[0].digest, built.layers[0].size],
        ['application/vnd.oci.image.layer.v1.tar', plainLayer.digest, plain.length]
      ]
    );
    assert.deepEqual(imported.diffIDs, config.rootfs.diff_ids);
    const importedConfig = json<ImageConfig>(await readFile(target.blobPath(imported.config.digest)));
    assert.deepEqual([importedConfig.os, importedConfig.architecture, importedConfig.variant], ['linux', 'arm', 'v7']);
    assert.deepEqual(importedConfig.config.Labels, config.config.Labels);
    assert.equal(imported.config.mediaType, MediaType.ImageConfig);
    const manifest = json<ImageManifest>(await readFile(target.blobPath(imported.manifest.digest)));
    assert.equal(manifest.mediaType, MediaType.ImageManifest);
    assert.deepEqual(manifest.config, imported.config);
    assert.deepEqual(manifest.layers, imported.layers);
    assert.deepEqual(Object.keys(manifest.annotations ?? {}), ['org.example.a', 'org.example.b']);
    for (const l of imported.layers) assert.equal(sha256Digest(await readFile(target.blobPath(l.digest))), l.digest);

    // The other way: the variant the config now claims, which arm64 has not, is dropped; docker media types on request.
    const v7File = path.join(dir, 'v7.cnb');
    await writeCnb(v7File, imported, target);
    const again = await importCnb(v7File, arm64, 'docker', new BlobStore(path.join(dir, 'docker')), dir);
    const dockerConfig = json<ImageConfig>(await readFile(path.join(dir, 'docker', 'blobs', 'sha256', again.config.digest.slice('sha256:'.length))));
    assert.deepEqual([dockerConfig.architecture, 'variant' in dockerConfig], ['arm64', false]);
    assert.deepEqual(
      again.layers.map(l => l.mediaType),
      [MediaType.DockerLayer, 'application/vnd.docker.image.rootfs.diff.tar']
    );
    assert.equal(again.manifest.mediaType, MediaType.DockerManifest);
  });

  it('refuses a damaged .cnb with a UserError: a changed layer byte, a changed manifest byte, a truncated file, a file that is not a tar', async () => {
    const dir = await tempDir('import-damaged-');
    const store = new BlobStore(path.join(dir, 'store'));
    const [image] = await writeImages(store, [amd64]);
    const file = path.join(dir, 'good.cnb');
    await writeCnb(file, image, store);
    const good = await readFile(file);
    const damaged = async (name: string, at: Buffer): Promise<string> => {
      const copy = Buffer.from(good);
      const offset = good.indexOf(at);
      assert.ok(offset > 0, `${name}: the blob is in the tar as it is`);
      copy[offset + Math.floor(at.length / 2)] ^= 0x01;
      const target = path.join(dir, name);
      await writeFile(target, copy);
      return target;
    };
    const scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    const attempt = (f: string): Promise<PlatformImage> => importCnb(f, amd64, 'oci', new BlobStore(path.join(dir, `into-${path.basename(f)}`)), scratch);

    const layerFile = await damaged('layer.cnb', await readFile(store.blobPath(image.layers[0].digest)));
    await assert.rejects(attempt(layerFile), (e: unknown) => e instanceof UserError && e.message.includes(`${layerFile} has no intact layer ${image.layers[0].digest}`));
    const manifestFile = await damaged('manifest.cnb', await readFile(store.blobPath(image.manifest.digest)));
    await assert.rejects(attempt(manifestFile), (e: unknown) => e instanceof UserError && e.message.includes(`has no intact manifest ${image.manifest.digest}`));
    const truncated = path.join(dir, 'truncated.cnb');
    await writeFile(truncated, good.subarray(0, 2048 + 100));
    await assert.rejects(attempt(truncated), (e: unknown) => e instanceof UserError && e.message.includes(truncated));
    const notTar = path.join(dir, 'not-a-tar.cnb');
    await writeFile(notTar, 'this is not an archive\n'.repeat(40));
    await assert.rejects(attempt(notTar), (e: unknown) => e instanceof UserError && e.message.includes(notTar));
    assert.deepEqual(await readdir(scratch), [], 'the extraction is removed after a failure too');
  });

  it('refuses an OCI layout that is not a buildpackage (no buildpack labels)', async () => {
    const dir = await tempDir('import-nolabels-');
    const store = new BlobStore(dir);
    const layer = await store.writeBytes(MediaType.Layer, Buffer.from([0x1f, 0x8b, 8, 0]));
    const config = await store.writeJson(MediaType.ImageConfig, {architecture: 'amd64', os: 'linux', config: {Labels: {'org.example': 'x'}}, rootfs: {type: 'layers', diff_ids: [sha('f')]}});
    const manifest = await store.writeJson(MediaType.ImageManifest, {schemaVersion: 2, mediaType: MediaType.ImageManifest, config: config.descriptor, layers: [layer]});
    const file = path.join(dir, 'app.cnb');
    await writeCnb(file, {platform: amd64, manifest: manifest.descriptor, config: config.descriptor, layers: [layer], diffIDs: [sha('f')]}, store);
    await assert.rejects(importCnb(file, amd64, 'oci', store, dir), (e: unknown) => e instanceof UserError && /lacks the io\.buildpacks\.buildpackage\.metadata and io\.buildpacks\.buildpack\.layers labels/.test(e.message));
  });
});

describe('output staging', () => {
  const context = async (): Promise<{buildpackDir: string; runnerTemp: string}> => ({buildpackDir: await tempDir('stage-bp-'), runnerTemp: await tempDir('stage-temp-')});

  it('accepts a missing or empty output, and refuses one holding the buildpack or RUNNER_TEMP, or a file', async () => {
    const ctx = await context();
    const root = await tempDir('stage-check-');
    await checkOutput(path.join(root, 'new', 'output'), ctx);
    await checkOutput(root, ctx);
    const refused = async (output: string, pattern: RegExp): Promise<void> => assert.rejects(checkOutput(output, ctx), (e: unknown) => e instanceof UserError && pattern.test(e.message));
    await refused(ctx.buildpackDir, /holds the buildpack directory/);
    await refused(path.dirname(ctx.buildpackDir), /holds the buildpack directory/);
    await refused(ctx.runnerTemp, /holds RUNNER_TEMP/);
    await refused(path.dirname(ctx.runnerTemp), /holds (the buildpack directory|RUNNER_TEMP)/);
    const file = path.join(root, 'a-file');
    await writeFile(file, 'x');
    await refused(file, /which is a file; choose a directory/);
  });

  it('accepts an output holding only the staging folder of a first run that was killed before it wrote its marker, and the next run clears it', async () => {
    const ctx = await context();
    const output = await tempDir('stage-killed-');
    const leftover = path.join(output, `.multiarch-staging-${randomUUID()}`);
    await mkdir(path.join(leftover, 'blobs'), {recursive: true});
    await checkOutput(output, ctx);
    const staging = await createStaging(output);
    assert.deepEqual(await readdir(output), [path.basename(staging.dir)]);
    await discardStaging(staging);
    await writeFile(path.join(output, 'theirs.txt'), 'x');
    await mkdir(leftover);
    await assert.rejects(checkOutput(output, ctx), (e: unknown) => e instanceof UserError && /"theirs\.txt"/.test(e.message) && !e.message.includes('.multiarch-staging'));
  });

  it('refuses an output holding files it did not write, naming them and deleting nothing, and a marker that is not its own', async () => {
    const ctx = await context();
    const output = await tempDir('stage-foreign-');
    for (const name of ['notes.txt', 'photo.jpg', 'thesis.tex', 'zz']) await writeFile(path.join(output, name), name);
    await assert.rejects(checkOutput(output, ctx), (e: unknown) => e instanceof UserError && e.message.includes('("notes.txt", "photo.jpg", "thesis.tex", ...); nothing was deleted'));
    assert.deepEqual((await readdir(output)).sort(), ['notes.txt', 'photo.jpg', 'thesis.tex', 'zz']);

    const forged = await tempDir('stage-forged-');
    await writeFile(path.join(forged, 'data'), 'x');
    await writeFile(path.join(forged, OUTPUT_MARKER), JSON.stringify({writer: 'someone-else', entries: ['data']}));
    await assert.rejects(checkOutput(forged, ctx), UserError);
    await writeFile(path.join(forged, OUTPUT_MARKER), JSON.stringify({writer: 'multiarch-buildpack-action', entries: ['data/..', 'x']}));
    await assert.rejects(checkOutput(forged, ctx), UserError, 'entries with a "/" make the marker invalid');
    await writeFile(path.join(forged, OUTPUT_MARKER), JSON.stringify({writer: 'multiarch-buildpack-action', entries: ['data']}));
    await checkOutput(forged, ctx);
    const markerOnly = await tempDir('stage-marker-only-');
    await writeFile(path.join(markerOnly, OUTPUT_MARKER), 'not json');
    await assert.rejects(checkOutput(markerOnly, ctx), UserError, 'a marker file that is not its own is a foreign file too');
  });

  it('commits the staged entries into output with a marker, accepts that output again, and replaces what the earlier run wrote', async () => {
    const ctx = await context();
    const output = path.join(await tempDir('stage-commit-'), 'out');
    const first = await createStaging(output);
    assert.equal(first.created, true);
    assert.equal(path.dirname(first.dir), output);
    await writeFile(path.join(first.dir, 'b.cnb'), 'b');
    await mkdir(path.join(first.dir, 'blobs'));
    await writeFile(path.join(first.dir, 'blobs', 'x'), 'x');
    assert.deepEqual(await readdir(output), [path.basename(first.dir)], 'nothing is in output before the commit');
    await commitStaging(first);
    assert.deepEqual((await readdir(output)).sort(), [OUTPUT_MARKER, 'b.cnb', 'blobs']);
    assert.deepEqual(json(await readFile(path.join(output, OUTPUT_MARKER))), {writer: 'multiarch-buildpack-action', entries: ['b.cnb', 'blobs']});
    await checkOutput(output, ctx);

    const second = await createStaging(output);
    assert.equal(second.created, false);
    await writeFile(path.join(second.dir, 'a.cnb'), 'a2');
    await writeFile(path.join(second.dir, 'b.cnb'), 'b2');
    await commitStaging(second);
    assert.deepEqual((await readdir(output)).sort(), [OUTPUT_MARKER, 'a.cnb', 'b.cnb'], 'blobs/ of the earlier run is gone, no staging or old folder is left');
    assert.equal(await readFile(path.join(output, 'b.cnb'), 'utf8'), 'b2');
    assert.deepEqual(json<{entries: string[]}>(await readFile(path.join(output, OUTPUT_MARKER))).entries, ['a.cnb', 'b.cnb']);
    await checkOutput(output, ctx);

    await writeFile(path.join(output, 'mine.txt'), 'a user file');
    await assert.rejects(checkOutput(output, ctx), (e: unknown) => e instanceof UserError && e.message.includes('("mine.txt")'));
  });

  it('discards a staging folder, and the output only when this run created it; clears leftovers of a killed run, which checkOutput tolerates', async () => {
    const ctx = await context();
    const output = path.join(await tempDir('stage-discard-'), 'out');
    const fresh = await createStaging(output);
    await writeFile(path.join(fresh.dir, 'half-written'), 'x');
    await discardStaging(fresh);
    assert.equal(await exists(output), false);

    const committed = await createStaging(output);
    await writeFile(path.join(committed.dir, 'a.cnb'), 'a');
    await commitStaging(committed);
    const leftovers = [`.multiarch-staging-${randomUUID()}`, `.multiarch-old-${randomUUID()}`];
    for (const name of leftovers) await mkdir(path.join(output, name, 'inner'), {recursive: true});
    await checkOutput(output, ctx);
    const next = await createStaging(output);
    assert.deepEqual((await readdir(output)).sort(), [path.basename(next.dir), OUTPUT_MARKER, 'a.cnb'].sort());
    await discardStaging(next);
    assert.deepEqual((await readdir(output)).sort(), [OUTPUT_MARKER, 'a.cnb']);
  });
});

interface LayoutIndex {
  manifests: (Descriptor & {annotations?: Record<string, string>})[];
}

async function packageTiny(format: Format, platforms: Platform[], experimental: Platform[], annotations = ''): Promise<{output: string; plan: ReleasePlan; result: StagedPackage; images: PlatformImage[]}> {
  const output = path.join(await tempDir('package-'), 'out');
  const plan = releasePlan(format, platforms, experimental, annotations);
  let images: PlatformImage[] = [];
  const result = await packageBuildpack({
    descriptor,
    plan,
    output,
    images: async store => {
      images = await writeImages(store, platforms, format);
      return images;
    }
  });
  return {output, plan, result, images};
}

describe('packageBuildpack', () => {
  it('writes the index and an OCI layout naming it by version into the staging folder, which the commit moves into output', async () => {
    const {output, plan, result, images} = await packageTiny('oci', [amd64, arm64], [arm64], 'index:org.example.index=i\nindex-descriptor:org.example.entry=e\nmanifest-descriptor[linux/arm64]:org.example.arm=yes');
    assert.deepEqual(await readdir(output), [path.basename(result.stagingDir)]);
    assert.equal(result.store.root, result.stagingDir);
    const layoutIndex = json<LayoutIndex>(await readFile(path.join(result.stagingDir, 'index.json')));
    assert.deepEqual(layoutIndex, {
      schemaVersion: 2,
      mediaType: MediaType.ImageIndex,
      manifests: [{...result.index, annotations: {[REF_NAME_ANNOTATION]: VERSION, 'org.example.entry': 'e'}}]
    });
    const indexBytes = await readFile(result.store.blobPath(result.index.digest));
    assert.equal(sha256Digest(indexBytes), result.index.digest);
    const index = json<ImageIndex>(indexBytes);
    assert.deepEqual(
      index,
      releaseIndex(plan, [
        {manifest: images[0].manifest, platform: amd64, experimental: false},
        {manifest: images[1].manifest, platform: arm64, experimental: true}
      ])
    );
    assert.deepEqual(index.annotations, {'org.example.index': 'i', 'org.opencontainers.image.version': VERSION});
    assert.deepEqual(index.manifests[1].annotations, {[EXPERIMENTAL_ANNOTATION]: 'true', 'org.example.arm': 'yes'});
    assert.notEqual(images[0].layers[0].digest, images[1].layers[0].digest, 'arm64 ships its own bin/build');
    for (const image of images) for (const d of [image.manifest, image.config, ...image.layers]) assert.equal(sha256Digest(await readFile(result.store.blobPath(d.digest))), d.digest);
    assert.deepEqual(
      result.platforms.map(p => [p.experimental, p.cnbFile, p.stagedCnbFile]),
      [
        [false, path.join(output, 'acme_tiny-1.2.3-linux-amd64.cnb'), path.join(result.stagingDir, 'acme_tiny-1.2.3-linux-amd64.cnb')],
        [true, path.join(output, 'acme_tiny-1.2.3-linux-arm64.cnb'), path.join(result.stagingDir, 'acme_tiny-1.2.3-linux-arm64.cnb')]
      ]
    );

    await result.writeCnbFiles();
    await result.commit();
    assert.deepEqual((await readdir(output)).sort(), [OUTPUT_MARKER, 'acme_tiny-1.2.3-linux-amd64.cnb', 'acme_tiny-1.2.3-linux-arm64.cnb', 'blobs', 'index.json', 'oci-layout']);
    assert.equal(execOk('skopeo', ['inspect', '--raw', `oci:${output}:${VERSION}`]), indexBytes.toString());
    const copy = path.join(path.dirname(output), 'copy');
    execOk('skopeo', ['copy', '--quiet', '--insecure-policy', '--all', `oci:${output}:${VERSION}`, `oci:${copy}:${VERSION}`]);
    assert.equal(execOk('skopeo', ['inspect', '--raw', `oci:${copy}:${VERSION}`]), indexBytes.toString(), 'skopeo copies every blob it needs from the layout');
    const cnb = await importCnb(result.platforms[1].cnbFile, arm64, 'oci', new BlobStore(path.join(path.dirname(output), 'imported')), path.dirname(output));
    assert.deepEqual(cnb.manifest, images[1].manifest);
  });

  it('for format docker, names an OCI view of the manifest list beside it in index.json', async () => {
    const {result} = await packageTiny('docker', [amd64, arm64], []);
    assert.equal(result.index.mediaType, MediaType.DockerManifestList);
    const layoutIndex = json<LayoutIndex>(await readFile(path.join(result.stagingDir, 'index.json')));
    assert.equal(layoutIndex.manifests.length, 2);
    const [list, view] = layoutIndex.manifests;
    assert.deepEqual(list, {...result.index, annotations: {[REF_NAME_ANNOTATION]: VERSION}});
    assert.equal(view.mediaType, MediaType.ImageIndex);
    assert.deepEqual(view.annotations, {[REF_NAME_ANNOTATION]: VERSION, [VIEW_OF_ANNOTATION]: result.index.digest});
    const listIndex = json<ImageIndex>(await readFile(result.store.blobPath(list.digest)));
    const viewIndex = json<ImageIndex>(await readFile(result.store.blobPath(view.digest)));
    assert.deepEqual(viewIndex, {...listIndex, mediaType: MediaType.ImageIndex});
    assert.deepEqual(
      listIndex.manifests.map(m => m.mediaType),
      [MediaType.DockerManifest, MediaType.DockerManifest]
    );
    await result.discard();
  });

  it('removes the staging folder, and the output it created, when the images fail; an existing output is left as it was', async () => {
    const root = await tempDir('package-fail-');
    const failing = async (store: BlobStore): Promise<PlatformImage[]> => {
      await writeImages(store, [amd64]);
      throw new Error('the build broke');
    };
    const request = (output: string) => ({descriptor, plan: releasePlan('oci', [amd64], []), output, images: failing});
    const fresh = path.join(root, 'fresh');
    await assert.rejects(packageBuildpack(request(fresh)), /the build broke/);
    assert.equal(await exists(fresh), false);
    const existing = path.join(root, 'existing');
    await mkdir(existing);
    await writeFile(path.join(existing, 'keep.txt'), 'kept');
    await assert.rejects(packageBuildpack(request(existing)), /the build broke/);
    assert.deepEqual(await readdir(existing), ['keep.txt']);
  });
});

describe('writeReleaseAssets', () => {
  it('names <name>.cnb (the linux/amd64 image), <name>-<platform>.cnb, <name>-index-digest.sha256 and <name>-oci-layout.tar, all in output after the commit', async () => {
    const {output, result} = await packageTiny('oci', [amd64, arm64], [arm64]);
    await result.writeCnbFiles();
    const assets = await writeReleaseAssets(result, 'tiny');
    const names = ['tiny.cnb', 'tiny-linux-amd64.cnb', 'tiny-linux-arm64.cnb', 'tiny-index-digest.sha256', 'tiny-oci-layout.tar'];
    assert.deepEqual(
      assets,
      names.map(n => path.join(output, n))
    );
    for (const n of names) assert.equal(await exists(path.join(output, n)), false, `${n} is staged until the commit`);
    await result.commit();
    const bytes = async (n: string): Promise<Buffer> => readFile(path.join(output, n));
    assert.deepEqual(await bytes('tiny.cnb'), await bytes('acme_tiny-1.2.3-linux-amd64.cnb'));
    assert.deepEqual(await bytes('tiny-linux-amd64.cnb'), await bytes('acme_tiny-1.2.3-linux-amd64.cnb'));
    assert.deepEqual(await bytes('tiny-linux-arm64.cnb'), await bytes('acme_tiny-1.2.3-linux-arm64.cnb'));
    assert.notDeepEqual(await bytes('tiny-linux-arm64.cnb'), await bytes('tiny.cnb'));
    assert.equal((await bytes('tiny-index-digest.sha256')).toString(), `${result.index.digest}\n`);
    assert.match((await bytes('tiny-index-digest.sha256')).toString(), /^sha256:[a-f0-9]{64}\n$/);

    const tarball = path.join(output, 'tiny-oci-layout.tar');
    const blobs = (await readdir(path.join(output, 'blobs', 'sha256'))).sort();
    assert.deepEqual(
      tarListing(tarball).map(l => [l[0], l[1], l[3], l[4]]),
      [
        ['-rw-r--r--', '0/0', '1980-01-01 00:00:01', 'oci-layout'],
        ['-rw-r--r--', '0/0', '1980-01-01 00:00:01', 'index.json'],
        ['drwxr-xr-x', '0/0', '1980-01-01 00:00:01', 'blobs'],
        ['drwxr-xr-x', '0/0', '1980-01-01 00:00:01', 'blobs/sha256'],
        ...blobs.map(hex => ['-rw-r--r--', '0/0', '1980-01-01 00:00:01', `blobs/sha256/${hex}`])
      ]
    );
    const extracted = path.join(path.dirname(output), 'extracted');
    await mkdir(extracted);
    execOk('tar', ['-xf', tarball, '-C', extracted]);
    assert.deepEqual(await readFile(path.join(extracted, 'index.json')), await bytes('index.json'));
    assert.equal(execOk('skopeo', ['inspect', '--raw', `oci:${extracted}:${VERSION}`]), (await readFile(path.join(output, 'blobs', 'sha256', result.index.digest.slice('sha256:'.length)))).toString());
    assert.deepEqual(json<{entries: string[]}>(await bytes(OUTPUT_MARKER)).entries, [...names, 'acme_tiny-1.2.3-linux-amd64.cnb', 'acme_tiny-1.2.3-linux-arm64.cnb', 'blobs', 'index.json', 'oci-layout'].sort());
  });

  it('writes no <name>.cnb when there is no linux/amd64 image', async () => {
    const {output, result} = await packageTiny('oci', [arm64, armv7], []);
    await result.writeCnbFiles();
    const assets = await writeReleaseAssets(result, 'tiny');
    assert.deepEqual(
      assets.map(a => path.relative(output, a)),
      ['tiny-linux-arm64.cnb', 'tiny-linux-arm-v7.cnb', 'tiny-index-digest.sha256', 'tiny-oci-layout.tar']
    );
    assert.equal(await exists(path.join(result.stagingDir, 'tiny.cnb')), false);
    await result.discard();
    assert.equal(await exists(output), false);
  });
});

describe('readLayout', () => {
  it('reads back a committed layout: the index bytes, each manifest with its blobs, the platforms, the version as named', async () => {
    const {output, result} = await packageTiny('oci', [amd64, arm64], [arm64]);
    await result.commit();
    const layout = await readLayout(output, 'the layout', undefined);
    assert.equal(layout.index.descriptor.digest, result.index.digest);
    assert.deepEqual(layout.index.bytes, await readFile(path.join(output, 'blobs', 'sha256', result.index.digest.slice(7))));
    assert.deepEqual(
      layout.manifests.map(m => m.descriptor.digest),
      result.platforms.map(p => p.image.manifest.digest)
    );
    assert.deepEqual(
      layout.manifests.map(m => m.blobs),
      result.platforms.map(p => [p.image.config, ...p.image.layers])
    );
    assert.deepEqual(
      layout.records.map(r => [r.platform.architecture, r.experimental]),
      [
        ['amd64', false],
        ['arm64', true]
      ]
    );
    assert.equal(layout.name, VERSION);
    assert.deepEqual(layout.referrers, []);
    await assert.rejects(readLayout(output, 'the layout', '9.9.9'), /the layout names no index "9\.9\.9" \(it has 1\.2\.3\); set version to one of them\./);
  });

  it('refuses a config whose bytes are not the ones its manifest names, before anything is sent', async () => {
    const {output, result} = await packageTiny('oci', [amd64], []);
    await result.commit();
    const config = result.platforms[0].image.config;
    await writeFile(path.join(output, 'blobs', 'sha256', config.digest.slice(7)), '{"altered":true}');
    await assert.rejects(
      readLayout(output, 'the layout', undefined),
      (e: unknown) => e instanceof UserError && e.message.startsWith(`the layout holds a config ${config.digest} whose bytes are sha256:`) && e.message.endsWith('the layout was altered, so nothing was published.')
    );
  });
});
