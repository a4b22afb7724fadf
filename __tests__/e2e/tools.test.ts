/**
 * The tool installer against a local server laid out like GitHub's release pages, and the pack
 * packager with stand-in jam and pack (test fixtures reproducing pack's output quirks),
 * checked with skopeo and umoci.
 */
import assert from 'node:assert/strict';
import {access, constants, readFile, readdir, stat} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {exec, execOk} from '../helpers/exec.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {platformConfig, unpackPlatform} from '../helpers/images.js';
import {EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {releaseAssets, releasePaths, serveAll, startReleaseServer, type ReleaseServer} from '../helpers/releases.js';
import {unreachableHost} from '../helpers/registry.js';
import {DEFAULT_VERSIONS} from '../../src/tools/versions.js';

const VERSIONS = {...DEFAULT_VERSIONS};
const re = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every request that reaches anything but the mirror fails: proxies that refuse connections. */
async function onlyLoopback(): Promise<Record<string, string>> {
  const dead = `http://${await unreachableHost()}`;
  return {HTTP_PROXY: dead, HTTPS_PROXY: dead, http_proxy: dead, https_proxy: dead, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1'};
}

describe('tools: installed from a mirror, verified, cached', () => {
  let server: ReleaseServer;
  let runnerTemp: string;
  let first: ActionRun;
  const paths = releasePaths(VERSIONS);

  before(async () => {
    server = await startReleaseServer();
    serveAll(server, releaseAssets(VERSIONS));
    runnerTemp = await tempDir('tools-runner-');
    first = await runAction(
      {path: EXAMPLE_BUILDPACK, version: '0.1.0', tools: `pack\njam@${VERSIONS.jam}\nbuildx`, 'tools-download-base-url': server.url, output: path.join(runnerTemp, 'out')},
      {runnerTemp, env: {...(await onlyLoopback()), DOCKER_CONFIG: path.join(runnerTemp, 'docker')}}
    );
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });
  after(async () => server?.stop());

  it('downloads each release asset and its checksum from the mirror only (no other host reachable)', () => {
    assert.deepEqual(
      server.requests.map(r => `${r.method} ${r.path} ${r.status}`).sort(),
      [`GET ${paths.buildx} 200`, `GET ${paths.buildxChecksums} 200`, `GET ${paths.jam} 200`, `GET ${paths.pack} 200`, `GET ${paths.packSha256} 200`].sort()
    );
    assert.match(first.stdout, new RegExp(`pack-v${re(VERSIONS.pack)}-linux\\.tgz: sha256 [a-f0-9]{64} matches`));
    assert.match(first.stdout, new RegExp(`buildx-v${re(VERSIONS.buildx)}\\.linux-amd64: sha256 [a-f0-9]{64} matches`));
    assert.match(first.stdout, /jam publishes no checksum for jam-linux-amd64; it is installed unverified/);
  });

  it('puts working executables in the tool cache under a mirror-specific name, and reports them', async () => {
    const tools = JSON.parse(first.outputs.tools) as Record<string, {version: string; path: string}>;
    assert.deepEqual(Object.keys(tools).sort(), ['buildx', 'jam', 'pack']);
    for (const [name, tool] of Object.entries(tools)) {
      await access(tool.path, constants.X_OK);
      assert.ok(tool.path.startsWith(path.join(runnerTemp, 'toolcache', `${name}-mirror-`)), tool.path);
      assert.equal(tool.version, VERSIONS[name as keyof typeof VERSIONS]);
    }
    assert.match(execOk(tools.pack.path, ['--version']), /^0\.40\.9\+git-standin/); // the stand-in's own version
    assert.match(execOk(tools.buildx.path, ['version']), new RegExp(`v${re(VERSIONS.buildx)}`));
    const plugin = path.join(runnerTemp, 'docker', 'cli-plugins', 'docker-buildx');
    assert.ok((await stat(plugin)).mode & 0o111, 'buildx is a docker CLI plugin');
    // The post step gets the freshly downloaded tools to save in the Actions cache.
    assert.match(first.state, /actions-cache-entries/);
    assert.match(first.state, new RegExp(`pack-mirror-[a-f0-9]{12}-${re(VERSIONS.pack)}-linux-x64`));
  });

  it('a second run with the same tool cache sends no request', async () => {
    const before = server.requests.length;
    const second = await runAction(
      {path: EXAMPLE_BUILDPACK, version: '0.1.0', tools: 'pack,jam,buildx', 'tools-download-base-url': server.url, output: path.join(runnerTemp, 'out2')},
      {runnerTemp, env: {...(await onlyLoopback()), DOCKER_CONFIG: path.join(runnerTemp, 'docker')}}
    );
    assert.equal(second.code, 0, second.stdout);
    assert.equal(server.requests.length, before);
    assert.match(second.stdout, new RegExp(`pack ${re(VERSIONS.pack)}: .* \\(from the tool-cache\\)`));
  });

  it('the post step runs quietly without a cache service', async () => {
    const post = await runAction({}, {runnerTemp, env: {STATE_isPost: 'true', 'STATE_actions-cache-entries': JSON.stringify([{paths: ['/x'], key: 'k'}])}});
    assert.equal(post.code, 0, post.stdout);
    assert.equal(post.errors.length, 0);
    assert.doesNotMatch(post.stdout, /::warning::/);
  });
});

describe('tools: refusals', () => {
  let server: ReleaseServer;
  before(async () => {
    server = await startReleaseServer();
  });
  after(async () => server?.stop());

  it('a checksum mismatch fails closed and caches nothing', async () => {
    const assets = releaseAssets(VERSIONS);
    const paths = releasePaths(VERSIONS);
    assets.set(paths.pack, Buffer.concat([assets.get(paths.pack) as Buffer, Buffer.from('tampered')]));
    serveAll(server, assets);
    const runnerTemp = await tempDir('tools-bad-');
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', tools: 'pack', 'tools-download-base-url': server.url, output: path.join(runnerTemp, 'out')}, {runnerTemp});
    assert.equal(run.code, 1);
    assert.equal(run.errors.length, 1);
    assert.match(
      run.errors[0],
      new RegExp(
        `pack-v${re(VERSIONS.pack)}-linux\\.tgz from http://127\\.0\\.0\\.1:\\d+/buildpacks/pack/releases/download/v${re(VERSIONS.pack)}/pack-v${re(VERSIONS.pack)}-linux\\.tgz has sha256 [a-f0-9]{64}, but .*\\.sha256 publishes [a-f0-9]{64}; refusing to install it \\(nothing was cached\\)`
      )
    );
    const cached = await readdir(path.join(runnerTemp, 'toolcache')).catch(() => []);
    assert.deepEqual(cached, [], 'nothing in the tool cache');
    assert.equal(JSON.stringify(run.outputs), '{}', 'no outputs');
  });

  it('a version without a release says which version and platform', async () => {
    const runnerTemp = await tempDir('tools-404-');
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', tools: 'pack@9.9.9', 'tools-download-base-url': server.url, output: path.join(runnerTemp, 'out')}, {runnerTemp});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /pack 9\.9\.9 has no pack-v9\.9\.9-linux\.tgz for linux\/x64 at http:\/\/127\.0\.0\.1:\d+\/buildpacks\/pack\/releases\/download\/v9\.9\.9\/pack-v9\.9\.9-linux\.tgz \(HTTP 404\)/);
  });

  it('a version range with a mirror is refused before any request', async () => {
    const before = server.requests.length;
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', tools: 'pack@0.38', 'tools-download-base-url': server.url});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /asks for pack@0\.38, but with tools-download-base-url set no host but the mirror is contacted/);
    assert.equal(server.requests.length, before);
  });
});

describe('packager: pack, with stand-in jam and pack', () => {
  let server: ReleaseServer;
  let buildpack: string;
  let native: string;
  const runs: Record<string, ActionRun> = {};
  const layouts: Record<string, string> = {};

  before(async () => {
    server = await startReleaseServer();
    serveAll(server, releaseAssets(VERSIONS));
    // jam bundles what include-files lists, so the binaries must exist where it looks:
    // cross-compile the example into linux/<arch>/bin as Paketo's scripts/build.sh does.
    buildpack = await copyExample();
    for (const arch of ['amd64', 'arm64']) {
      const bin = path.join(buildpack, 'linux', arch, 'bin');
      execOk('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', path.join(bin, 'run'), './cmd/run'], {cwd: buildpack, env: {...process.env, GOOS: 'linux', GOARCH: arch, CGO_ENABLED: '0'}});
      execOk('ln', ['-s', 'run', path.join(bin, 'detect')]);
      execOk('ln', ['-s', 'run', path.join(bin, 'build')]);
    }
    const work = await tempDir('packager-');
    native = path.join(work, 'native');
    const nativeRun = await runAction({path: buildpack, version: '0.1.0', output: native});
    assert.equal(nativeRun.code, 0, nativeRun.stdout);
    for (const quirk of ['amd64', 'missing', 'empty']) {
      layouts[quirk] = path.join(work, quirk);
      runs[quirk] = await runAction(
        // sbom on for one of them: the SBOM reads pack's layers (leading-slash names) as the action's own.
        {path: buildpack, version: '0.1.0', packager: 'pack', 'tools-download-base-url': server.url, output: layouts[quirk], ...(quirk === 'amd64' ? {sbom: 'true'} : {})},
        {env: {STANDIN_PACK_ARCH: quirk, STANDIN_JAM_LOG: path.join(work, `${quirk}-jam.log`), STANDIN_PACK_LOG: path.join(work, `${quirk}-pack.log`)}}
      );
      assert.equal(runs[quirk].code, 0, runs[quirk].stdout + runs[quirk].stderr);
    }
  });
  after(async () => server?.stop());

  it('runs jam pack with the version, then pack buildpack package per target with --format file', async () => {
    const work = path.dirname(layouts.amd64);
    const jam = (await readFile(path.join(work, 'amd64-jam.log'), 'utf8'))
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as {argv: string[]; cwd: string});
    assert.equal(jam.length, 1);
    assert.deepEqual(jam[0].argv.slice(0, 2), ['pack', '--buildpack']);
    assert.ok(jam[0].argv.includes('--version') && jam[0].argv[jam[0].argv.indexOf('--version') + 1] === '0.1.0');
    const pack = (await readFile(path.join(work, 'amd64-pack.log'), 'utf8'))
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as {argv: string[]});
    assert.deepEqual(
      pack.map(p => [p.argv.slice(0, 2), p.argv[p.argv.indexOf('--format') + 1], p.argv[p.argv.indexOf('--target') + 1]]),
      [
        [['buildpack', 'package'], 'file', 'linux/amd64'],
        [['buildpack', 'package'], 'file', 'linux/arm64']
      ]
    );
  });

  for (const quirk of ['amd64', 'missing', 'empty']) {
    it(`corrects a config architecture written as ${quirk} to each platform, in OCI media types`, () => {
      const index = JSON.parse(execOk('skopeo', ['inspect', '--raw', `oci:${layouts[quirk]}:0.1.0`])) as {mediaType: string; manifests: {mediaType: string; platform: {architecture: string}}[]};
      assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.deepEqual(
        index.manifests.map(m => [m.mediaType, m.platform.architecture]),
        [
          ['application/vnd.oci.image.manifest.v1+json', 'amd64'],
          ['application/vnd.oci.image.manifest.v1+json', 'arm64']
        ]
      );
      for (const arch of ['amd64', 'arm64']) assert.equal(platformConfig(layouts[quirk], '0.1.0', arch).architecture, arch);
      if (quirk !== 'amd64') assert.match(runs[quirk].stdout, /corrected to linux\/arm64/);
    });
  }

  it('yields the same paths, labels and platforms as native packaging', async () => {
    for (const arch of ['amd64', 'arm64']) {
      const files = async (layout: string): Promise<string[]> => {
        const root = await unpackPlatform(layout, '0.1.0', arch);
        const out = execOk('find', ['cnb', '-not', '-type', 'd'], {cwd: root});
        return out.split('\n').filter(Boolean).sort();
      };
      assert.deepEqual(await files(layouts.amd64), await files(native));
      const viaPack = platformConfig(layouts.amd64, '0.1.0', arch).config.Labels;
      const viaNative = platformConfig(native, '0.1.0', arch).config.Labels;
      assert.deepEqual(Object.keys(viaPack).sort(), Object.keys(viaNative).sort());
      const meta = (labels: Record<string, string>): {id: string; version: string} => JSON.parse(labels['io.buildpacks.buildpackage.metadata']) as {id: string; version: string};
      assert.deepEqual([meta(viaPack).id, meta(viaPack).version], [meta(viaNative).id, meta(viaNative).version]);
      const root = await unpackPlatform(layouts.amd64, '0.1.0', arch);
      assert.match(execOk('file', ['-b', path.join(root, 'cnb/buildpacks/examples_hello/0.1.0/bin/run')]), arch === 'arm64' ? /ARM aarch64/ : /x86-64/);
    }
  });

  it('writes SBOMs of what pack packaged: each platform its own binary, with the Go build information of that architecture', async () => {
    const files = JSON.parse(runs.amd64.outputs['sbom-files']) as Record<string, string>;
    assert.deepEqual(Object.keys(files), ['linux/amd64', 'linux/arm64']);
    for (const arch of ['amd64', 'arm64']) {
      type Component = {type: string; name: string; properties?: {name: string; value: string}[]; components?: Component[]};
      const sbom = JSON.parse(await readFile(files[`linux/${arch}`], 'utf8')) as {components: Component[]};
      assert.deepEqual(
        sbom.components.map(c => c.name),
        ['examples/hello']
      );
      const run = sbom.components[0].components?.find(c => c.type === 'file' && c.name === '/cnb/buildpacks/examples_hello/0.1.0/bin/run');
      assert.ok(run, `${arch}: bin/run listed`);
      assert.ok(run.properties?.some(p => p.name === 'multiarch-buildpack-action:go-version' && /^go1\./.test(p.value)));
      assert.deepEqual(
        run.properties?.filter(p => /:go-build:GO(ARCH|OS)$/.test(p.name)).map(p => [p.name.split(':').pop(), p.value]),
        [
          ['GOARCH', arch],
          ['GOOS', 'linux']
        ]
      );
    }
  });

  it('still refuses a wrong-architecture binary before pack runs', async () => {
    const wrong = await copyExample();
    for (const arch of ['amd64', 'arm64']) {
      const bin = path.join(wrong, 'linux', arch, 'bin');
      execOk('go', ['build', '-trimpath', '-buildvcs=false', '-o', path.join(bin, 'run'), './cmd/run'], {cwd: wrong, env: {...process.env, GOOS: 'linux', GOARCH: 'amd64', CGO_ENABLED: '0'}});
      execOk('ln', ['-s', 'run', path.join(bin, 'detect')]);
      execOk('ln', ['-s', 'run', path.join(bin, 'build')]);
    }
    const run = await runAction({path: wrong, version: '0.1.0', packager: 'pack', 'tools-download-base-url': server.url, output: path.join(await tempDir('wrong-'), 'out')});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /bin\/run in the linux\/arm64 buildpack is built for x86-64, not aarch64/);
    assert.equal(exec('ls', [path.join(wrong, 'nothing')]).code !== 0, true);
  });
});
