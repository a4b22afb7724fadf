/**
 * Proves the test fixtures that stand in for jam, pack and GitHub's release downloads, with tools
 * the project did not write: GNU tar lists and extracts what the stand-ins write, skopeo reads the
 * stand-in pack's .cnb, and fetch() talks to the release server.
 */
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {gunzipSync} from 'node:zlib';
import {exec, execOk} from '../helpers/exec.js';
import {ROOT} from '../helpers/paths.js';
import {releaseAssets, releasePaths, serveAll, startReleaseServer, type ReleaseServer} from '../helpers/releases.js';

const JAM = path.join(ROOT, '__tests__', 'fixtures', 'standins', 'jam.mjs');
const PACK = path.join(ROOT, '__tests__', 'fixtures', 'standins', 'pack.mjs');
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const BUILDPACK_TOML = `# the stand-in self-test's buildpack
api = "0.10"

[buildpack]
  id = "acme/standin"
  name = "Acme Standin"
  version = "{{ .version }}"
  homepage = "https://example.com/acme"

[metadata]
  include-files = [
    "README.md",
    "buildpack.toml", # the descriptor itself
    "linux/amd64/bin/run",
    "linux/arm64/bin/run",
    "linux/amd64/bin/detect",
    "linux/arm64/bin/detect",
  ]
`;
const TARGETS = `
[[targets]]
  os = "linux"
  arch = "amd64"

[[targets]]
  os = "linux"
  arch = "arm64"
`;

/** A buildpack source tree in Paketo's multi-arch layout (bin/detect -> run per arch). */
async function writeBuildpack(dir: string, options: {targets: boolean}): Promise<void> {
  await mkdir(dir, {recursive: true});
  await writeFile(path.join(dir, 'buildpack.toml'), BUILDPACK_TOML + (options.targets ? TARGETS : ''));
  await writeFile(path.join(dir, 'README.md'), '# Acme stand-in\n');
  await writeFile(path.join(dir, 'NOT-INCLUDED.txt'), 'not in include-files\n');
  for (const arch of ['amd64', 'arm64']) {
    const bin = path.join(dir, 'linux', arch, 'bin');
    await mkdir(bin, {recursive: true});
    await writeFile(path.join(bin, 'run'), `#!/bin/sh\necho "acme on ${arch}"\n`);
    await chmod(path.join(bin, 'run'), 0o755);
    await symlink('run', path.join(bin, 'detect'));
  }
}

function node(script: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}) {
  return exec(process.execPath, [script, ...args], {cwd: options.cwd, env: {...process.env, ...options.env}});
}

/** `tar -tv` lines as {mode, owner, date, name, link}. */
function listTar(file: string, gzip: boolean): {mode: string; owner: string; date: string; name: string; link?: string}[] {
  const out = execOk('tar', [gzip ? '-tvzf' : '-tvf', file, '--numeric-owner', '--full-time']);
  return out
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const m = /^(\S+)\s+(\S+)\s+\d+\s+(\S+)\s+\S+\s+(.*?)(?: -> (.*))?$/.exec(line);
      assert.ok(m, `unexpected tar -tv line: ${line}`);
      return {mode: m[1], owner: m[2], date: m[3], name: m[4], ...(m[5] !== undefined ? {link: m[5]} : {})};
    });
}

let work: string;
before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'standins-'));
});
after(async () => {
  await rm(work, {recursive: true, force: true});
});

describe('stand-in jam', () => {
  it('packs a multi-arch buildpack as jam does: shared files moved into each linux/<arch>, buildpack.toml only at the top', async () => {
    const bp = path.join(work, 'jam-multi', 'bp');
    await writeBuildpack(bp, {targets: true});
    const log = path.join(work, 'jam-multi', 'jam.log');
    const out = path.join(work, 'jam-multi', 'bp.tgz');
    const r = node(JAM, ['pack', '--buildpack', path.join(bp, 'buildpack.toml'), '--version', '1.2.3', '--output', out], {cwd: bp, env: {STANDIN_JAM_LOG: log}});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Packing Acme Standin 1\.2\.3\.\.\.$/m);
    assert.ok(r.stdout.includes(`  Building tarball: ${out}\n`), r.stdout);
    assert.match(r.stdout, /^ {4}linux\/arm64\/README\.md$/m);

    const entries = listTar(out, true);
    const names = entries.map(e => e.name);
    assert.deepEqual(names, [
      'buildpack.toml',
      'linux',
      'linux/amd64',
      'linux/amd64/README.md',
      'linux/amd64/bin',
      'linux/amd64/bin/detect',
      'linux/amd64/bin/run',
      'linux/arm64',
      'linux/arm64/README.md',
      'linux/arm64/bin',
      'linux/arm64/bin/detect',
      'linux/arm64/bin/run'
    ]);
    const byName = new Map(entries.map(e => [e.name, e]));
    assert.equal(byName.get('linux/arm64/bin/detect')?.link, 'run');
    assert.equal(byName.get('linux/arm64/bin/detect')?.mode[0], 'l');
    assert.equal(byName.get('linux/amd64/bin/run')?.mode, '-rwxr-xr-x');
    assert.equal(byName.get('buildpack.toml')?.mode, '-rw-r--r--');
    assert.equal(byName.get('linux')?.mode, 'drwxrwxrwx');

    const toml = execOk('tar', ['-xzOf', out, 'buildpack.toml']);
    assert.match(toml, /^ {2}version = "1\.2\.3"$/m);
    assert.doesNotMatch(toml, /\{\{ \.version \}\}/);
    assert.equal(execOk('tar', ['-xzOf', out, 'linux/amd64/README.md']), '# Acme stand-in\n');

    // The source tree is untouched: jam works on a copy.
    assert.deepEqual((await readdir(bp)).sort(), ['NOT-INCLUDED.txt', 'README.md', 'buildpack.toml', 'linux']);
    assert.deepEqual((await readdir(path.join(bp, 'linux', 'amd64'))).sort(), ['bin']);

    const logged = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as {argv: string[]; cwd: string});
    assert.deepEqual(logged, [{argv: ['pack', '--buildpack', path.join(bp, 'buildpack.toml'), '--version', '1.2.3', '--output', out], cwd: bp}]);
  });

  it('without [[targets]] bundles include-files where they are; runs pre-package in its copy', async () => {
    const bp = path.join(work, 'jam-single', 'bp');
    await writeBuildpack(bp, {targets: false});
    const toml = (await readFile(path.join(bp, 'buildpack.toml'), 'utf8'))
      .replace('"README.md",', '"README.md",\n    "generated.txt",')
      .replace('include-files = [', 'pre-package = "echo generating; echo made > generated.txt"\n  include-files = [');
    await writeFile(path.join(bp, 'buildpack.toml'), toml);
    const out = path.join(work, 'jam-single', 'bp.tgz');
    const r = node(JAM, ['pack', `--buildpack=${path.join(bp, 'buildpack.toml')}`, '--version', '0.0.1', '--output', out, '--offline']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}Executing pre-packaging script: echo generating; echo made > generated.txt\n {4}generating$/m);
    const names = listTar(out, true).map(e => e.name);
    assert.deepEqual(names, [
      'README.md',
      'buildpack.toml',
      'generated.txt',
      'linux',
      'linux/amd64',
      'linux/amd64/bin',
      'linux/amd64/bin/detect',
      'linux/amd64/bin/run',
      'linux/arm64',
      'linux/arm64/bin',
      'linux/arm64/bin/detect',
      'linux/arm64/bin/run'
    ]);
    assert.equal(execOk('tar', ['-xzOf', out, 'generated.txt']), 'made\n');
    await assert.rejects(stat(path.join(bp, 'generated.txt')));
  });

  it('fails like jam on a missing include file and on bad arguments', async () => {
    const bp = path.join(work, 'jam-missing', 'bp');
    await writeBuildpack(bp, {targets: false});
    await rm(path.join(bp, 'linux', 'arm64', 'bin', 'run'));
    const out = path.join(work, 'jam-missing', 'bp.tgz');
    const missing = node(JAM, ['pack', '--buildpack', path.join(bp, 'buildpack.toml'), '--version', '1.0.0', '--output', out]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error: failed to bundle files: error stating included file: lstat \S+\/linux\/arm64\/bin\/run: no such file or directory$/m);
    await assert.rejects(stat(out));

    const noVersion = node(JAM, ['pack', '--buildpack', path.join(bp, 'buildpack.toml'), '--output', out]);
    assert.equal(noVersion.code, 1);
    assert.match(noVersion.stderr, /required flag\(s\) "version" not set/);
    const unknown = node(JAM, ['pack', '--buildpack', path.join(bp, 'buildpack.toml'), '--version', '1', '--output', out, '--bogus']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown flag: --bogus/);
  });
});

describe('stand-in pack', () => {
  let root: string;
  before(async () => {
    const bp = path.join(work, 'pack-src', 'bp');
    await writeBuildpack(bp, {targets: true});
    const tgz = path.join(work, 'pack-src', 'bp.tgz');
    assert.equal(node(JAM, ['pack', '--buildpack', path.join(bp, 'buildpack.toml'), '--version', '1.2.3', '--output', tgz]).code, 0);
    root = path.join(work, 'pack-src', 'root');
    await mkdir(root);
    execOk('tar', ['-xzf', tgz, '-C', root]);
  });

  /** Extracts a .cnb with GNU tar (which strips the leading "/") and reads its one image. */
  async function readCnb(file: string) {
    const dir = await mkdtemp(path.join(work, 'cnb-'));
    execOk('tar', ['-xf', file, '-C', dir]);
    const blob = (digest: string) => readFile(path.join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
    const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {manifests: {digest: string; platform?: unknown}[]};
    assert.equal(index.manifests.length, 1);
    const manifestBytes = await blob(index.manifests[0].digest);
    assert.equal(sha256(manifestBytes), index.manifests[0].digest.slice(7));
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {config: {digest: string}; layers: {digest: string; mediaType: string}[]};
    const configBytes = await blob(manifest.config.digest);
    assert.equal(sha256(configBytes), manifest.config.digest.slice(7));
    const layerPath = path.join(dir, 'blobs', 'sha256', manifest.layers[0].digest.slice(7));
    const layer = await readFile(layerPath);
    assert.equal(sha256(layer), manifest.layers[0].digest.slice(7));
    return {dir, index, manifest, configRaw: JSON.parse(configBytes.toString('utf8')) as Record<string, unknown>, layer, layerPath};
  }

  it('prints its version', () => {
    const r = node(PACK, ['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '0.40.9+git-standin\n');
  });

  it('one --target: the platform root packaged into a leading-slash OCI-layout tar that skopeo reads, architecture amd64', async () => {
    const out = path.join(work, 'one', 'out.cnb');
    await mkdir(path.dirname(out));
    const log = path.join(work, 'one', 'pack.log');
    const r = node(PACK, ['buildpack', 'package', out, '--path', root, '--format', 'file', '--target', 'linux/arm64'], {cwd: root, env: {STANDIN_PACK_LOG: log}});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Successfully created package '.*out\.cnb' and saved to file/);
    assert.deepEqual((await readdir(path.dirname(out))).sort(), ['out.cnb', 'pack.log']);
    // The buildpack.toml pack copied into the platform root is gone again.
    assert.deepEqual((await readdir(path.join(root, 'linux', 'arm64'))).sort(), ['README.md', 'bin']);
    assert.deepEqual(JSON.parse(await readFile(log, 'utf8')), {argv: ['buildpack', 'package', out, '--path', root, '--format', 'file', '--target', 'linux/arm64'], cwd: root});

    const entries = listTar(out, false);
    assert.ok(
      entries.every(e => e.name.startsWith('/')),
      JSON.stringify(entries)
    );
    assert.deepEqual(
      entries.slice(0, 2).map(e => e.name),
      ['/blobs', '/blobs/sha256']
    );
    assert.deepEqual(
      entries.slice(-2).map(e => e.name),
      ['/index.json', '/oci-layout']
    );
    assert.equal(entries.filter(e => /^\/blobs\/sha256\/[0-9a-f]{64}$/.test(e.name)).length, 3);
    assert.ok(
      entries.every(e => e.owner === '0/0' && e.date === '1980-01-01' && /^[d-]rwxr-xr-x$/.test(e.mode)),
      JSON.stringify(entries)
    );

    const inspect = exec('skopeo', ['inspect', `oci-archive:${out}`]);
    assert.equal(inspect.code, 0, `skopeo could not read the stand-in .cnb: ${inspect.stderr}`);
    const info = JSON.parse(inspect.stdout) as {Architecture: string; Os: string; Created: string};
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
    assert.equal(info.Created, '1980-01-01T00:00:01Z');
    const raw = JSON.parse(execOk('skopeo', ['inspect', '--raw', `oci-archive:${out}`])) as {mediaType: string; config: {mediaType: string}; layers: {mediaType: string}[]};
    assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(raw.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    assert.deepEqual(
      raw.layers.map((l: {mediaType: string}) => l.mediaType),
      ['application/vnd.docker.image.rootfs.diff.tar.gzip']
    );
    // skopeo copy checks every digest and size on the way.
    execOk('skopeo', ['copy', '--quiet', `oci-archive:${out}`, `dir:${path.join(work, 'one', 'copied')}`]);

    const cnb = await readCnb(out);
    assert.equal(cnb.index.manifests[0].platform, undefined);
    assert.equal(cnb.configRaw.architecture, 'amd64');
    assert.equal(cnb.configRaw.os, 'linux');
    assert.equal(cnb.configRaw.variant, undefined);
    const rootfs = cnb.configRaw.rootfs as {type: string; diff_ids: string[]};
    assert.deepEqual(rootfs, {type: 'layers', diff_ids: [`sha256:${sha256(gunzipSync(cnb.layer))}`]});
    const labels = (cnb.configRaw.config as {Labels: Record<string, string>}).Labels;
    assert.deepEqual(JSON.parse(labels['io.buildpacks.buildpackage.metadata']), {
      id: 'acme/standin',
      name: 'Acme Standin',
      version: '1.2.3',
      homepage: 'https://example.com/acme',
      stacks: [{id: '*'}]
    });
    assert.deepEqual(JSON.parse(labels['io.buildpacks.buildpack.layers']), {
      'acme/standin': {
        '1.2.3': {
          api: '0.10',
          targets: [
            {os: 'linux', arch: 'amd64'},
            {os: 'linux', arch: 'arm64'}
          ],
          layerDiffID: rootfs.diff_ids[0],
          homepage: 'https://example.com/acme',
          name: 'Acme Standin'
        }
      }
    });

    const layer = listTar(cnb.layerPath, true);
    const base = '/cnb/buildpacks/acme_standin/1.2.3';
    assert.deepEqual(
      layer.map(e => [e.name, e.mode, e.link ?? '']),
      [
        ['/cnb/buildpacks/acme_standin', 'drwxr-xr-x', ''],
        [base, 'drwxr-xr-x', ''],
        [`${base}/README.md`, '-rw-r--r--', ''],
        [`${base}/bin`, 'drwxr-xr-x', ''],
        [`${base}/bin/detect`, 'lrwxr-xr-x', 'run'],
        [`${base}/bin/run`, '-rwxr-xr-x', ''],
        [`${base}/buildpack.toml`, '-rw-r--r--', '']
      ]
    );
    assert.ok(layer.every(e => e.owner === '0/0' && e.date === '1980-01-01'));
    const run = execOk('tar', ['-xzOf', cnb.layerPath, `${base}/bin/run`]);
    assert.equal(run, '#!/bin/sh\necho "acme on arm64"\n');
  });

  it('several targets: one <name>-<os>-<arch>.cnb each (variant dropped); STANDIN_PACK_ARCH picks the wrong architecture', async () => {
    const dir = path.join(work, 'multi');
    await mkdir(dir);
    for (const [mode, expected] of [
      ['empty', ''],
      ['missing', undefined],
      ['correct', 'arm64']
    ] as const) {
      const r = node(PACK, ['buildpack', 'package', `${mode}`, '-p', root, '-f', 'file', '-t', 'linux/amd64', `--target=linux/arm64/v8`], {cwd: dir, env: {STANDIN_PACK_ARCH: mode}});
      assert.equal(r.code, 0, r.stderr);
      const cnb = await readCnb(path.join(dir, `${mode}-linux-arm64.cnb`));
      assert.equal('architecture' in cnb.configRaw, expected !== undefined, `${mode}: ${JSON.stringify(cnb.configRaw)}`);
      assert.equal(cnb.configRaw.architecture, expected);
      assert.equal(cnb.configRaw.variant, undefined);
      const amd = await readCnb(path.join(dir, `${mode}-linux-amd64.cnb`));
      assert.equal(execOk('tar', ['-xzOf', amd.layerPath, '/cnb/buildpacks/acme_standin/1.2.3/bin/run']), '#!/bin/sh\necho "acme on amd64"\n');
    }
    assert.deepEqual((await readdir(dir)).sort(), ['correct-linux-amd64.cnb', 'correct-linux-arm64.cnb', 'empty-linux-amd64.cnb', 'empty-linux-arm64.cnb', 'missing-linux-amd64.cnb', 'missing-linux-arm64.cnb']);
    const info = JSON.parse(execOk('skopeo', ['inspect', `oci-archive:${path.join(dir, 'empty-linux-arm64.cnb')}`])) as {Architecture: string};
    assert.equal(info.Architecture, '');
  });

  it('rejects what it does not know, as pack does', () => {
    const unknown = node(PACK, ['buildpack', 'package', 'x.cnb', '--path', root, '--format', 'file', '--bogus']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^ERROR: unknown flag: --bogus$/m);
    const noName = node(PACK, ['buildpack', 'package', '--path', root, '--format', 'file']);
    assert.equal(noName.code, 1);
    assert.match(noName.stderr, /accepts 1 arg\(s\), received 0/);
  });
});

describe('release server', () => {
  let server: ReleaseServer;
  before(async () => {
    server = await startReleaseServer();
  });
  after(async () => {
    await server.stop();
  });

  it('serves the stand-ins as GitHub release assets, 404s the rest, and records every request', async () => {
    const versions = {pack: '0.38.2', jam: '2.17.3', buildx: '0.27.0'};
    const assets = releaseAssets(versions);
    const paths = releasePaths(versions);
    assert.deepEqual([...assets.keys()].sort(), Object.values(paths).sort());
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    serveAll(server, assets);

    const get = async (p: string, method = 'GET') => {
      const res = await fetch(server.url + p, {method});
      return {status: res.status, body: Buffer.from(await res.arrayBuffer())};
    };

    const packTgz = await get(paths.pack);
    assert.equal(packTgz.status, 200);
    assert.deepEqual(packTgz.body, assets.get(paths.pack));
    const packSum = (await get(paths.packSha256)).body.toString('utf8');
    assert.equal(packSum, `${sha256(packTgz.body)}  pack-v0.38.2-linux.tgz\n`);
    const dir = await mkdtemp(path.join(work, 'release-'));
    await writeFile(path.join(dir, 'pack.tgz'), packTgz.body);
    assert.deepEqual(
      listTar(path.join(dir, 'pack.tgz'), true).map(e => [e.name, e.mode]),
      [['pack', '-rwxr-xr-x']]
    );
    execOk('tar', ['-xzf', path.join(dir, 'pack.tgz'), '-C', dir]);
    assert.equal(execOk(path.join(dir, 'pack'), ['--version']), '0.40.9+git-standin\n');

    const jam = await get(paths.jam);
    assert.equal(jam.status, 200);
    assert.deepEqual(jam.body, await readFile(JAM));

    const buildx = await get(paths.buildx);
    const checksums = (await get(paths.buildxChecksums)).body.toString('utf8');
    assert.ok(checksums.split('\n').includes(`${sha256(buildx.body)} *buildx-v0.27.0.linux-amd64`), checksums);
    assert.equal(checksums.trim().split('\n').length, 4);
    await writeFile(path.join(dir, 'docker-buildx'), buildx.body, {mode: 0o755});
    assert.match(execOk(path.join(dir, 'docker-buildx'), ['version']), /^github\.com\/docker\/buildx v0\.27\.0\b/);
    assert.equal((JSON.parse(execOk(path.join(dir, 'docker-buildx'), ['docker-cli-plugin-metadata'])) as {Version: string}).Version, 'v0.27.0');

    const missing = await get('/buildpacks/pack/releases/download/v9.9.9/pack-v9.9.9-linux.tgz');
    assert.equal(missing.status, 404);
    const head = await get(paths.jam, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);

    // A test can corrupt an asset before serving it.
    server.put(paths.pack, Buffer.from('corrupted'));
    assert.equal((await get(paths.pack)).body.toString(), 'corrupted');

    assert.deepEqual(server.requests, [
      {method: 'GET', path: paths.pack, status: 200},
      {method: 'GET', path: paths.packSha256, status: 200},
      {method: 'GET', path: paths.jam, status: 200},
      {method: 'GET', path: paths.buildx, status: 200},
      {method: 'GET', path: paths.buildxChecksums, status: 200},
      {method: 'GET', path: '/buildpacks/pack/releases/download/v9.9.9/pack-v9.9.9-linux.tgz', status: 404},
      {method: 'HEAD', path: paths.jam, status: 200},
      {method: 'GET', path: paths.pack, status: 200}
    ]);
  });
});
