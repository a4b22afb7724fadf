/**
 * Releasing the way Paketo releases, through the bundle against a real registry: package a
 * draft with its assets (push: false), then publish those exact bytes with mode: publish from
 * the layout or its tarball, checked against the promised digest.
 */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {readFile, readdir} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('release: a draft with assets, then mode: publish of its exact bytes', () => {
  let registry: TestRegistry;
  let draft: Awaited<ReturnType<typeof runAction>>;
  let output: string;
  before(async () => {
    registry = await startRegistry({});
    output = path.join(await tempDir('draft-'), 'out');
    draft = await runAction({path: EXAMPLE_BUILDPACK, version: 'v1.2.3', output, push: 'false', tags: `${registry.host}/draft/hello:1.2.3`, 'asset-name': 'hello-buildpack-1.2.3'});
    assert.equal(draft.code, 0, draft.stdout);
  });
  after(async () => registry?.stop());

  it('publishes v1.2.3 as 1.2.3, with a notice, the same digest as 1.2.3', async () => {
    assert.match(draft.stdout, /::notice::Input "version" is v1\.2\.3, a git tag's spelling: using 1\.2\.3/);
    const plain = await runAction({path: EXAMPLE_BUILDPACK, version: '1.2.3', output: path.join(await tempDir('plain-'), 'out')});
    assert.equal(plain.code, 0, plain.stdout);
    assert.equal(plain.outputs.digest, draft.outputs.digest);
    assert.equal((JSON.parse(draft.outputs.metadata) as {version: string}).version, '1.2.3');
  });

  it('writes the assets Paketo attaches to a draft release, the digest file matching the digest output', async () => {
    const assets = JSON.parse(draft.outputs.assets) as string[];
    assert.deepEqual(
      assets.map(a => path.basename(a)),
      ['hello-buildpack-1.2.3.cnb', 'hello-buildpack-1.2.3-linux-amd64.cnb', 'hello-buildpack-1.2.3-linux-arm64.cnb', 'hello-buildpack-1.2.3-index-digest.sha256', 'hello-buildpack-1.2.3-oci-layout.tar']
    );
    for (const a of assets) assert.equal(path.dirname(a), output);
    assert.equal(await readFile(path.join(output, 'hello-buildpack-1.2.3-index-digest.sha256'), 'utf8'), `${draft.outputs.digest}\n`);
    const cnb = JSON.parse(draft.outputs['cnb-files']) as Record<string, string>;
    assert.ok((await readFile(path.join(output, 'hello-buildpack-1.2.3.cnb'))).equals(await readFile(cnb['linux/amd64'])), 'the bare name is the amd64 image');
    assert.ok((await readFile(path.join(output, 'hello-buildpack-1.2.3-linux-arm64.cnb'))).equals(await readFile(cnb['linux/arm64'])));
    const arm = JSON.parse(execOk('skopeo', ['inspect', '--config', `oci-archive:${path.join(output, 'hello-buildpack-1.2.3-linux-arm64.cnb')}`])) as {architecture: string};
    assert.equal(arm.architecture, 'arm64');
  });

  it('mode: publish from the layout directory sends those bytes; a re-run uploads nothing', async () => {
    const tag = `${registry.host}/release/from-dir:1.2.3`;
    const run = await runAction({mode: 'publish', layout: output, tags: tag, 'insecure-registries': registry.host, 'expected-digest': await readFile(path.join(output, 'hello-buildpack-1.2.3-index-digest.sha256'), 'utf8')});
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.outputs.digest, draft.outputs.digest);
    const raw = execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${tag}`]);
    assert.equal(sha256(raw), draft.outputs.digest);
    const index = JSON.parse(await readFile(path.join(output, 'index.json'), 'utf8')) as {manifests: {digest: string}[]};
    assert.ok(Buffer.from(raw).equals(await readFile(path.join(output, 'blobs', 'sha256', index.manifests[0].digest.slice(7)))), 'the same bytes as the layout');
    for (const arch of ['amd64', 'arm64']) {
      const config = JSON.parse(execOk('skopeo', ['inspect', '--config', '--tls-verify=false', '--override-arch', arch, `docker://${tag}`])) as {architecture: string};
      assert.equal(config.architecture, arch);
    }
    const again = await runAction({mode: 'publish', layout: output, tags: tag, 'insecure-registries': registry.host});
    assert.equal(again.code, 0, again.stdout);
    const push = (JSON.parse(again.outputs.metadata) as {push: {uploaded: number; bytesUploaded: number}}).push;
    assert.equal(push.uploaded, 0);
    assert.equal(push.bytesUploaded, 0);
  });

  it('mode: publish from the layout tarball, and from a tar.gz of the layout, gives the same index', async () => {
    const tarball = path.join(output, 'hello-buildpack-1.2.3-oci-layout.tar');
    const fromTar = await runAction({mode: 'publish', layout: tarball, tags: `${registry.host}/release/from-tar:1.2.3`, 'insecure-registries': registry.host});
    assert.equal(fromTar.code, 0, fromTar.stdout);
    assert.equal(sha256(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/release/from-tar:1.2.3`])), draft.outputs.digest);
    const gz = path.join(await tempDir('layout-gz-'), 'layout.tar.gz');
    execFileSync('tar', ['-czf', gz, '-C', output, 'oci-layout', 'index.json', 'blobs']);
    const fromGz = await runAction({mode: 'publish', layout: gz, tags: `${registry.host}/release/from-gz:1.2.3`, 'insecure-registries': registry.host, version: 'v1.2.3'});
    assert.equal(fromGz.code, 0, fromGz.stdout);
    assert.equal(sha256(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/release/from-gz:1.2.3`])), draft.outputs.digest);
  });

  it('a wrong expected-digest writes nothing to any registry', async () => {
    const before = await registry.catalog();
    const requests = registry.requests().length;
    const wrong = `sha256:${'0'.repeat(64)}`;
    const cases: Record<string, string>[] = [
      {mode: 'publish', layout: output},
      {path: EXAMPLE_BUILDPACK, version: '1.2.3', output: path.join(await tempDir('expected-'), 'out')}
    ];
    for (const inputs of cases) {
      const run = await runAction({...inputs, tags: `${registry.host}/release/never:1.2.3`, 'insecure-registries': registry.host, 'expected-digest': wrong});
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.errors.length, 1);
      assert.match(run.errors[0], new RegExp(`The index to publish is ${draft.outputs.digest}, but input "expected-digest" is ${wrong}; nothing was published`));
    }
    assert.deepEqual(await registry.catalog(), before, 'catalog unchanged');
    assert.equal(registry.requests().length, requests, 'not a request sent');
  });

  it('refuses a layout whose blobs were altered, and one naming several indexes without version', async () => {
    const {cp, writeFile} = await import('node:fs/promises');
    const altered = path.join(await tempDir('altered-'), 'layout');
    await cp(output, altered, {recursive: true});
    const blobs = path.join(altered, 'blobs', 'sha256');
    const manifest = (JSON.parse(draft.outputs.manifests) as {digest: string}[])[0];
    const layerOf = JSON.parse(await readFile(path.join(blobs, manifest.digest.slice(7)), 'utf8')) as {layers: {digest: string}[]};
    await writeFile(path.join(blobs, layerOf.layers[0].digest.slice(7)), 'tampered');
    const run = await runAction({mode: 'publish', layout: altered, tags: `${registry.host}/release/altered:1`, 'insecure-registries': registry.host});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /holds a layer sha256:[a-f0-9]{64} whose bytes are sha256:[a-f0-9]{64} \(8 bytes, not \d+\); the layout was altered, so nothing was published/);
    const two = path.join(await tempDir('two-'), 'layout');
    await cp(output, two, {recursive: true});
    const index = JSON.parse(await readFile(path.join(two, 'index.json'), 'utf8')) as {manifests: {annotations: Record<string, string>}[]};
    index.manifests.push({...index.manifests[0], annotations: {'org.opencontainers.image.ref.name': 'other'}});
    await writeFile(path.join(two, 'index.json'), JSON.stringify(index));
    const ambiguous = await runAction({mode: 'publish', layout: two, tags: `${registry.host}/release/two:1`, 'insecure-registries': registry.host});
    assert.match(ambiguous.errors[0], /holds several indexes \(1\.2\.3, other\); set version to the one to publish/);
    const picked = await runAction({mode: 'publish', layout: two, version: '1.2.3', tags: `${registry.host}/release/two:1`, 'insecure-registries': registry.host});
    assert.equal(picked.code, 0, picked.stdout);
    assert.deepEqual((await readdir(two)).includes('index.json'), true);
  });
});
