import assert from 'node:assert/strict';
import {createReadStream} from 'node:fs';
import {mkdtemp, readFile, writeFile, symlink, chmod, mkdir} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {createGunzip, gunzipSync} from 'node:zlib';
import {describe, it} from 'node:test';
import {extract, type Header} from 'tar-stream';
import {parseDescriptor} from '../../src/buildpack/descriptor.js';
import {scanTree} from '../../src/buildpack/files.js';
import {platformTree} from '../../src/buildpack/tree.js';
import {creationTime, writeBuildpackImage} from '../../src/image/image.js';
import {buildpackLayers, buildpackageMetadata, goJson, layerInfo, mergeStacks, resolvedStacks} from '../../src/image/labels.js';
import {buildpackLayerEntries} from '../../src/image/layer-entries.js';
import {writeLayer} from '../../src/oci/layer-writer.js';
import {BlobStore} from '../../src/oci/store.js';
import {MediaType} from '../../src/oci/types.js';
import {parsePlatform} from '../../src/platform/platform.js';

const arm64 = parsePlatform('arm64', 'x');
const descriptor = parseDescriptor(
  `api = "0.10"
[buildpack]
id = "acme/my-bp"
name = "My <Buildpack>"
version = "{{ .version }}"
homepage = "https://example.com"
[[buildpack.licenses]]
type = "MIT"
uri = "https://mit"
[[targets]]
os = "linux"
arch = "amd64"
[[targets]]
os = "linux"
arch = "arm64"
[[targets.distros]]
name = "ubuntu"
version = "24.04"
`,
  'buildpack.toml'
);

describe('labels', () => {
  it('io.buildpacks.buildpackage.metadata matches pack (field order, omitempty, wildcard stack, Go escaping)', () => {
    assert.equal(
      buildpackageMetadata(descriptor, '1.2.3', resolvedStacks(layerInfo(descriptor, 'sha256:abc'), [])),
      '{"id":"acme/my-bp","name":"My \\u003cBuildpack\\u003e","version":"1.2.3","homepage":"https://example.com","licenses":[{"Type":"MIT","URI":"https://mit"}],"stacks":[{"id":"*"}]}'
    );
  });

  it("io.buildpacks.buildpack.layers carries buildpack.toml's targets as written, the diffID, homepage and name", () => {
    const info = layerInfo(descriptor, 'sha256:abc');
    assert.equal(
      buildpackLayers([{id: descriptor.id, version: '1.2.3', info}]),
      '{"acme/my-bp":{"1.2.3":{"api":"0.10","targets":[{"os":"linux","arch":"amd64"},{"os":"linux","arch":"arm64","distros":[{"name":"ubuntu","version":"24.04"}]}],"layerDiffID":"sha256:abc","homepage":"https://example.com","name":"My \\u003cBuildpack\\u003e"}}}'
    );
    const osOnly = parseDescriptor('[buildpack]\nid = "a"\n[[targets]]\nos = "linux"\n', 'f');
    assert.deepEqual(layerInfo(osOnly, 'sha256:abc'), {api: '0.1', targets: [{os: 'linux', arch: ''}], layerDiffID: 'sha256:abc'}, 'as pack writes an os-only target, api defaulted');
  });

  it('keeps stacks as written, exec-env and clear-env, and merges stacks as pack does', () => {
    const old = parseDescriptor('api = "0.7"\n[buildpack]\nid = "a"\nexec-env = ["production"]\nclear-env = true\n[[stacks]]\nid = "io.buildpacks.stacks.jammy"\n', 'f');
    const info = layerInfo(old, 'sha256:x');
    assert.deepEqual(info.stacks, [{id: 'io.buildpacks.stacks.jammy'}]);
    assert.equal(buildpackageMetadata(old, '1.0.0', resolvedStacks(info, [])), '{"id":"a","version":"1.0.0","exec-env":["production"],"clear-env":true,"stacks":[{"id":"io.buildpacks.stacks.jammy"}]}');
    assert.match(goJson({a: '&'}), /\\u0026/);
    assert.deepEqual(
      mergeStacks(
        [{id: 's1', mixins: ['b', 'a']}, {id: 's2'}],
        [
          {id: 's2', mixins: ['m']},
          {id: 's1', mixins: ['a', 'c']}
        ]
      ),
      [
        {id: 's2', mixins: ['m']},
        {id: 's1', mixins: ['a', 'b', 'c']}
      ]
    );
    assert.deepEqual(mergeStacks([{id: '*'}], [{id: 's1'}]), [{id: 's1'}]);
    assert.deepEqual(mergeStacks([{id: 's1'}], [{id: 's2'}]), []);
    const composite = parseDescriptor('[buildpack]\nid = "fam"\n[[order]]\n[[order.group]]\nid = "x"\nversion = "1"\nexec-env = ["test"]\noptional = true\n', 'f');
    assert.deepEqual(layerInfo(composite, 'sha256:y').order, [{group: [{id: 'x', version: '1', 'exec-env': ['test'], optional: true}]}]);
    assert.deepEqual(resolvedStacks(layerInfo(composite, 'sha256:y'), [{stacks: [{id: 's1'}]}, {}]), [{id: 's1'}], 'a targets-only component counts as a wildcard');
  });
});

async function fixture(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'layer-fixture-'));
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'bin', 'run'), '#!/bin/sh\necho run\n');
  await chmod(path.join(dir, 'bin', 'run'), 0o700); // odd mode: normalised to 0755
  await symlink('run', path.join(dir, 'bin', 'detect'));
  await writeFile(path.join(dir, 'bin', 'build'), 'not executable on disk');
  await chmod(path.join(dir, 'bin', 'build'), 0o600);
  await writeFile(path.join(dir, 'README.md'), 'hello');
  await chmod(path.join(dir, 'README.md'), 0o664);
  await mkdir(path.join(dir, 'a-very-long-directory-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on'), {recursive: true});
  await writeFile(path.join(dir, 'a-very-long-directory-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on', 'file-with-a-long-name-too.txt'), 'x'.repeat(1000));
  return dir;
}

async function readLayer(file: string): Promise<{header: Header; body: Buffer}[]> {
  const entries: {header: Header; body: Buffer}[] = [];
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      entries.push({header: entry.header, body: Buffer.concat(chunks)});
    }
  })();
  createReadStream(file).pipe(createGunzip()).pipe(ex);
  await done;
  return entries;
}

describe('buildpack layer', () => {
  it('normalises every header as pack does', async () => {
    const dir = await fixture();
    const tree = platformTree({source: scanTree(dir), built: [], descriptor: 'api = "0.10"', platform: arm64});
    const store = new BlobStore(await mkdtemp(path.join(tmpdir(), 'store-')));
    const layer = await writeLayer(buildpackLayerEntries(tree, 'acme/my-bp', '1.2.3'), store, MediaType.Layer);
    const entries = await readLayer(store.blobPath(layer.descriptor.digest));
    const root = '/cnb/buildpacks/acme_my-bp/1.2.3';
    const long = 'a-very-long-directory-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on';
    assert.deepEqual(
      entries.map(e => [e.header.name, e.header.type, e.header.mode.toString(8)]),
      [
        ['/cnb/buildpacks/acme_my-bp', 'directory', '755'],
        [root, 'directory', '755'],
        [`${root}/README.md`, 'file', '644'],
        [`${root}/${long}`, 'directory', '755'],
        [`${root}/${long}/file-with-a-long-name-too.txt`, 'file', '644'],
        [`${root}/bin`, 'directory', '755'],
        [`${root}/bin/build`, 'file', '755'],
        [`${root}/bin/detect`, 'symlink', '755'],
        [`${root}/bin/run`, 'file', '755'],
        [`${root}/buildpack.toml`, 'file', '644']
      ]
    );
    for (const {header} of entries) {
      assert.equal(header.uid, 0);
      assert.equal(header.gid, 0);
      assert.equal(header.uname, '');
      assert.equal(header.gname, '');
      assert.equal(header.mtime.toISOString(), '1980-01-01T00:00:01.000Z');
    }
    assert.equal(entries.find(e => e.header.name.endsWith('bin/detect'))?.header.linkname, 'run');
    assert.equal(entries.find(e => e.header.name.endsWith('README.md'))?.body.toString(), 'hello');
  });

  it('is reproducible: same files, same digests; gzip header has no time and a fixed OS byte', async () => {
    const dirA = await fixture();
    const dirB = await fixture(); // other path, other mtimes, other inode order
    const digests = [];
    for (const dir of [dirA, dirB]) {
      const tree = platformTree({source: scanTree(dir), built: [], descriptor: 'x', platform: arm64});
      const store = new BlobStore(await mkdtemp(path.join(tmpdir(), 'store-')));
      const image = await writeBuildpackImage({descriptor, version: '1.2.3', platform: arm64, tree, created: creationTime({}), format: 'oci'}, store);
      const gz = await readFile(store.blobPath(image.layers[0].digest));
      assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
      assert.equal(`sha256:${(await import('node:crypto')).createHash('sha256').update(gunzipSync(gz)).digest('hex')}`, image.diffIDs[0]);
      digests.push(image.manifest.digest);
    }
    assert.equal(digests[0], digests[1]);
  });

  it('on Windows, where files have no exec bits, decides executability by content', async () => {
    const dir = await fixture();
    await writeFile(path.join(dir, 'tool.sh'), '#!/bin/sh\necho x\n');
    await chmod(path.join(dir, 'tool.sh'), 0o644);
    const posix = scanTree(dir, [], true, 'linux');
    const windows = scanTree(dir, [], true, 'win32');
    const exec = (entries: typeof posix): string[] =>
      entries
        .filter(e => e.type === 'file' && e.executable)
        .map(e => e.path)
        .sort();
    assert.deepEqual(exec(posix), ['bin/run']);
    assert.deepEqual(exec(windows), ['bin/build', 'bin/run', 'tool.sh']);
  });

  it('uses SOURCE_DATE_EPOCH for the creation time when set', () => {
    assert.equal(creationTime({}), '1980-01-01T00:00:01Z');
    assert.equal(creationTime({SOURCE_DATE_EPOCH: '1700000000'}), '2023-11-14T22:13:20Z');
    assert.throws(() => creationTime({SOURCE_DATE_EPOCH: 'yesterday'}), /SOURCE_DATE_EPOCH is "yesterday", which is not a number/);
  });
});
