/**
 * Dependencies per architecture: a buildpack.toml listing one dependency for amd64, one for
 * arm64 and one without arch, served by a local HTTP server. Online, each image's
 * buildpack.toml lists its own; offline, each image bundles exactly its own files.
 */
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {readFile, readdir, writeFile} from 'node:fs/promises';
import {existsSync} from 'node:fs';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {parseToml} from '../../src/buildpack/toml.js';
import {runAction} from '../helpers/action.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {unpackPlatform} from '../helpers/images.js';
import {startReleaseServer, type ReleaseServer} from '../helpers/releases.js';

const BP = 'cnb/buildpacks/examples_hello/0.1.0';
const files = {
  amd64: Buffer.from('amd64 runtime bytes\n'),
  arm64: Buffer.from('arm64 runtime bytes\n'),
  noarch: Buffer.from('architecture-independent scripts\n')
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Dep {
  id: string;
  uri: string;
  checksum?: string;
  sha256?: string;
  arch?: string;
}

async function buildpackWithDependencies(server: ReleaseServer, extra = ''): Promise<string> {
  const dir = await copyExample();
  const toml = `
# Runtimes, one per architecture, and helper scripts for both.
[[metadata.dependencies]]
  id = "runtime"
  version = "1.0.0"
  uri = "${server.url}/deps/runtime-amd64.tgz"
  checksum = "sha256:${sha(files.amd64)}"
  arch = "amd64"
  stacks = ["*"]

[[metadata.dependencies]]
  id = "runtime"
  version = "1.0.0"
  uri = "${server.url}/deps/runtime-arm64.tgz"
  checksum = "sha256:${sha(files.arm64)}"
  arch = "arm64"
  stacks = ["*"]

  [[metadata.dependencies.licenses]]
    type = "MIT"

[[metadata.dependencies]]
  id = "scripts"
  version = "2.0.0"
  uri = "${server.url}/deps/scripts.tgz"
  sha256 = "${sha(files.noarch)}"
  stacks = ["*"]
${extra}`;
  const file = path.join(dir, 'buildpack.toml');
  const original = await readFile(file, 'utf8');
  // Insert the dependencies before [[targets]], after [metadata]'s include-files.
  await writeFile(file, original.replace('\n[[targets]]', `${toml}\n[[targets]]`));
  return dir;
}

describe('dependencies per architecture', () => {
  let server: ReleaseServer;
  before(async () => {
    server = await startReleaseServer();
    server.put('/deps/runtime-amd64.tgz', files.amd64);
    server.put('/deps/runtime-arm64.tgz', files.arm64);
    server.put('/deps/scripts.tgz', files.noarch);
  });
  after(async () => server?.stop());

  it('online: each image lists its own dependencies and the arch-less one, bundles nothing, and warns', async () => {
    const dir = await buildpackWithDependencies(server);
    const output = path.join(await tempDir('deps-online-'), 'out');
    const run = await runAction({path: dir, version: '0.1.0', output});
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /::warning::.*lists dependencies without arch, .*: scripts 2\.0\.0; add arch/);
    assert.equal(server.requests.length, 0, 'nothing downloaded online');
    for (const arch of ['amd64', 'arm64']) {
      const root = path.join(await unpackPlatform(output, '0.1.0', arch), BP);
      const text = await readFile(path.join(root, 'buildpack.toml'), 'utf8');
      const deps = (parseToml(text, 'buildpack.toml').value as unknown as {metadata: {dependencies: Dep[]}}).metadata.dependencies;
      assert.deepEqual(
        deps.map(d => [d.id, d.arch ?? '']),
        [
          ['runtime', arch],
          ['scripts', '']
        ]
      );
      assert.ok(
        deps.every(d => d.uri.startsWith(server.url)),
        'uris untouched online'
      );
      assert.match(text, /# Runtimes, one per architecture/, 'comments kept');
      assert.match(text, /version = "0\.1\.0"/);
      if (arch === 'arm64') assert.match(text, /\[\[metadata\.dependencies\.licenses\]\]/, 'sub-tables kept with their dependency');
      else assert.doesNotMatch(text, /metadata\.dependencies\.licenses/);
      assert.equal(existsSync(path.join(root, 'dependencies')), false);
    }
  });

  it('offline: each image bundles exactly its own files plus the arch-less one, uris rewritten, shared download fetched once', async () => {
    const dir = await buildpackWithDependencies(server);
    const output = path.join(await tempDir('deps-offline-'), 'out');
    const runnerTemp = await tempDir('deps-runner-');
    const before = server.requests.length;
    const run = await runAction({path: dir, version: '0.1.0', output, offline: 'true'}, {runnerTemp});
    assert.equal(run.code, 0, run.stdout);
    const fetched = server.requests
      .slice(before)
      .map(r => r.path)
      .sort();
    assert.deepEqual(fetched, ['/deps/runtime-amd64.tgz', '/deps/runtime-arm64.tgz', '/deps/scripts.tgz'], 'each file once');
    for (const arch of ['amd64', 'arm64'] as const) {
      const root = path.join(await unpackPlatform(output, '0.1.0', arch), BP);
      const deps = (parseToml(await readFile(path.join(root, 'buildpack.toml'), 'utf8'), 'buildpack.toml').value as unknown as {metadata: {dependencies: Dep[]}}).metadata.dependencies;
      const own = [files[arch], files.noarch];
      assert.deepEqual(
        deps.map(d => d.uri),
        [`file:///dependencies/${sha(own[0])}/runtime-${arch}.tgz`, `file:///dependencies/${sha(own[1])}/scripts.tgz`]
      );
      assert.deepEqual((await readdir(path.join(root, 'dependencies'))).sort(), own.map(sha).sort(), 'exactly its own');
      for (const d of deps) {
        const file = path.join(root, d.uri.replace('file:///', ''));
        assert.ok((await readFile(file)).equals(own[deps.indexOf(d)]), `${d.uri} content`);
      }
    }
    // A second run finds the downloads cached and fetches nothing.
    const again = server.requests.length;
    const second = await runAction({path: dir, version: '0.1.0', output: path.join(await tempDir('deps-offline-2-'), 'out'), offline: 'true'}, {runnerTemp});
    assert.equal(second.code, 0, second.stdout);
    assert.equal(second.outputs.digest, run.outputs.digest);
    assert.equal(server.requests.length, again);
  });

  it('offline: a corrupted download names the dependency and leaves no image', async () => {
    const corrupt = await startReleaseServer();
    try {
      corrupt.put('/deps/runtime-amd64.tgz', files.amd64);
      corrupt.put('/deps/runtime-arm64.tgz', Buffer.from('not what the checksum says'));
      corrupt.put('/deps/scripts.tgz', files.noarch);
      const dir = await buildpackWithDependencies(corrupt);
      const output = path.join(await tempDir('deps-corrupt-'), 'out');
      const run = await runAction({path: dir, version: '0.1.0', output, offline: 'true'});
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.errors.length, 1);
      assert.match(
        run.errors[0],
        /Dependency runtime 1\.0\.0 \(arm64\) from http:\/\/127\.0\.0\.1:\d+\/deps\/runtime-arm64\.tgz has sha256:[a-f0-9]{64}, but buildpack\.toml says sha256:[a-f0-9]{64}; fix the checksum or the uri \(nothing was packaged\)\./
      );
      assert.equal(existsSync(output), false, 'no image');
    } finally {
      await corrupt.stop();
    }
  });

  it('offline: a dependency that cannot be downloaded names itself', async () => {
    const dir = await buildpackWithDependencies(
      server,
      `
[[metadata.dependencies]]
  id = "missing"
  version = "3.0.0"
  uri = "${server.url}/deps/missing.tgz"
  checksum = "sha256:${'0'.repeat(64)}"
  arch = "arm64"
`
    );
    const output = path.join(await tempDir('deps-missing-'), 'out');
    const run = await runAction({path: dir, version: '0.1.0', output, offline: 'true'});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /Dependency missing 3\.0\.0 \(arm64\) could not be downloaded from http:\/\/127\.0\.0\.1:\d+\/deps\/missing\.tgz/);
    assert.equal(existsSync(output), false);
  });

  it('a failing pre-package script stops the run, its output shown', async () => {
    const dir = await copyExample();
    const file = path.join(dir, 'buildpack.toml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('[metadata]', '[metadata]\n  pre-package = "echo compiling the runtime; echo linker exploded >&2; exit 7"'));
    const output = path.join(await tempDir('prepackage-'), 'out');
    const run = await runAction({path: dir, version: '0.1.0', output});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /metadata\.pre-package "echo compiling the runtime; .*" in .*buildpack\.toml failed \(exit code 7\): linker exploded; fix it and run again\./);
    assert.match(run.stdout, /compiling the runtime/);
    assert.doesNotMatch(run.stdout, /::group::Build/, 'nothing built after it');
    assert.equal(existsSync(output), false);
  });

  it('pre-package runs once, before building, in the buildpack directory', async () => {
    const dir = await copyExample();
    const file = path.join(dir, 'buildpack.toml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('[metadata]', '[metadata]\n  pre-package = "echo ran >> pre-package.log"'));
    const run = await runAction({path: dir, version: '0.1.0', output: path.join(await tempDir('prepackage-ok-'), 'out')});
    assert.equal(run.code, 0, run.stdout);
    assert.equal(await readFile(path.join(dir, 'pre-package.log'), 'utf8'), 'ran\n');
    assert.ok(run.stdout.indexOf('::group::Pre-package') < run.stdout.indexOf('::group::Build'));
  });
});
