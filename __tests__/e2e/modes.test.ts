/**
 * Smoke tests and split releases: emulated arm64 smoke tests under qemu, gating on failures,
 * and package jobs per architecture merged into the same index a single job writes.
 */
import assert from 'node:assert/strict';
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_APP, EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

const out = async (): Promise<string> => path.join(await tempDir('out-'), 'out');

describe('smoke tests', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  it('emulated: amd64 natively and arm64 under qemu pass, the detect output in a log group per platform', async () => {
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', output: await out(), 'smoke-test': 'emulated', 'smoke-app': EXAMPLE_APP});
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /::group::Smoke test linux\/arm64\n[\s\S]*?Running linux\/arm64 under qemu-user[\s\S]*?hello-buildpack: detected hello\.txt \(linux\/arm64\)[\s\S]*?hello-buildpack: built for linux\/arm64[\s\S]*?::endgroup::/);
    assert.match(run.stdout, /::group::Smoke test linux\/amd64\n[\s\S]*?Running linux\/amd64 natively[\s\S]*?detected hello\.txt \(linux\/amd64\)/);
    assert.deepEqual(
      (JSON.parse(run.outputs.smoke) as {platform: string; status: string}[]).map((s: {platform: string; status: string}) => [s.platform, s.status]),
      [
        ['linux/amd64', 'passed'],
        ['linux/arm64', 'passed']
      ]
    );
    assert.match(run.summary, /passed/);
  });

  it('native on this amd64 runner tests amd64 only', async () => {
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', output: await out(), 'smoke-test': 'native', 'smoke-app': EXAMPLE_APP});
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(
      (JSON.parse(run.outputs.smoke) as {platform: string; status: string}[]).map((s: {platform: string; status: string}) => [s.platform, s.status]),
      [
        ['linux/amd64', 'passed'],
        ['linux/arm64', 'skipped']
      ]
    );
  });

  /** A buildpack whose arm64 bin/detect fails: the amd64 build is the example's, the arm64 one exits 3. */
  async function brokenOnArm64(): Promise<string> {
    const dir = await copyExample();
    const main = path.join(dir, 'cmd', 'run', 'main.go');
    const source = await readFile(main, 'utf8');
    await writeFile(main, source.replace('func detect() int {', 'func detect() int {\n\tif runtime.GOARCH == "arm64" {\n\t\tfmt.Fprintln(os.Stderr, "hello-buildpack: illegal instruction on arm64")\n\t\treturn 3\n\t}'));
    return dir;
  }

  it('a failing arm64 binary blocks the release and writes no tag', async () => {
    const dir = await brokenOnArm64();
    const run = await runAction({path: dir, version: '0.1.0', output: await out(), 'smoke-test': 'emulated', 'smoke-app': EXAMPLE_APP, tags: `${registry.host}/smoke/broken:0.1.0`, 'insecure-registries': registry.host});
    assert.equal(run.code, 1, run.stdout);
    assert.equal(run.errors.length, 1);
    assert.match(run.errors[0], /The smoke test of linux\/arm64 failed: bin\/detect failed \(exit 3\) for the app \(Buildpack API 0\.10\); nothing was tagged/);
    assert.match(run.stdout, /illegal instruction on arm64/);
    assert.doesNotMatch(run.stdout, /::group::Publish/);
    assert.deepEqual(await registry.catalog(), []);
  });

  it('with experimental: true the same failure only warns, and the release goes on', async () => {
    const dir = await brokenOnArm64();
    const run = await runAction({
      path: dir,
      version: '0.1.0',
      output: await out(),
      experimental: 'true',
      'smoke-test': 'emulated',
      'smoke-app': EXAMPLE_APP,
      tags: `${registry.host}/smoke/experimental:0.1.0`,
      'insecure-registries': registry.host
    });
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /::warning::The smoke test of the experimental platform linux\/arm64 failed \(bin\/detect failed \(exit 3\)/);
    assert.match(run.summary, /failed \(experimental: not blocking\)/);
    assert.deepEqual(await registry.tags('smoke/experimental'), ['0.1.0']);
  });

  it('smoke-command runs per platform with IMAGE, DIGEST and the target in its environment', async () => {
    const log = path.join(await tempDir('smoke-cmd-'), 'log');
    const run = await runAction({
      path: EXAMPLE_BUILDPACK,
      version: '0.1.0',
      output: await out(),
      'smoke-app': EXAMPLE_APP,
      'smoke-command': `echo "$TARGET_OS/$TARGET_ARCH $DIGEST $(basename "$IMAGE")" >> ${log}; test -f "$IMAGE"`
    });
    assert.equal(run.code, 0, run.stdout);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    const manifests = JSON.parse(run.outputs.manifests) as {digest: string}[];
    assert.deepEqual(lines, [`linux/amd64 ${manifests[0].digest} examples_hello-0.1.0-linux-amd64.cnb`, `linux/arm64 ${manifests[1].digest} examples_hello-0.1.0-linux-arm64.cnb`]);
  });

  it('smoke-test without smoke-app is one clear error', async () => {
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', output: await out(), 'smoke-test': 'emulated'});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /"smoke-test" is set but "smoke-app" is empty/);
    assert.doesNotMatch(run.stdout, /::group::Build/, 'refused before building');
  });
});

describe('split release: package per architecture, then merge', () => {
  let registry: TestRegistry;
  let single: ActionRun;
  const inputs = (registryHost: string, extra: Record<string, string> = {}): Record<string, string> => ({
    path: EXAMPLE_BUILDPACK,
    version: '0.1.0',
    experimental: 'true',
    annotations: 'org.example.team=buildpacks',
    tags: `${registryHost}/split/hello:0.1.0\n${registryHost}/split/hello:latest`,
    'insecure-registries': registryHost,
    ...extra
  });
  const env = {GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/hello', GITHUB_SHA: 'a'.repeat(40)};
  let amd64: ActionRun;
  let arm64: ActionRun;

  before(async () => {
    registry = await startRegistry({});
    // The reference: one job doing everything, into another repository of the same registry.
    single = await runAction({...inputs(registry.host), tags: `${registry.host}/single/hello:0.1.0`, output: await out()}, {env});
    assert.equal(single.code, 0, single.stdout);
    // Two package jobs, separate processes with separate RUNNER_TEMP directories.
    [amd64, arm64] = await Promise.all(['amd64', 'arm64'].map(async arch => runAction({...inputs(registry.host, {mode: 'package', architectures: arch}), output: await out()}, {env, runnerTemp: await tempDir(`runner-${arch}-`)})));
    assert.equal(amd64.code, 0, amd64.stdout);
    assert.equal(arm64.code, 0, arm64.stdout);
  });
  after(async () => registry?.stop());

  it("a package job for amd64 accepts experimental-architectures naming the arm64 job's platform", async () => {
    const run = await runAction({...inputs(registry.host, {mode: 'package', architectures: 'amd64', 'experimental-architectures': 'arm64'}), output: await out()}, {env});
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(
      (JSON.parse(run.outputs.manifests) as {experimental: boolean}[]).map((m: {experimental: boolean}) => m.experimental),
      [false]
    );
  });

  it('package jobs push manifests by digest and write no tag', async () => {
    assert.deepEqual(await registry.tags('split/hello'), []);
    assert.equal(amd64.outputs.tags, '');
    const manifests = [...(JSON.parse(amd64.outputs.manifests) as {digest: string}[]), ...(JSON.parse(arm64.outputs.manifests) as {digest: string}[])];
    for (const m of manifests) assert.equal((await registry.manifest('split/hello', m.digest)).status, 200);
  });

  it('a smoke job pulls its platform by digest and tests it natively', async () => {
    const run = await runAction({mode: 'smoke', manifests: `${amd64.outputs.manifests}\n${arm64.outputs.manifests}`, tags: `${registry.host}/split/hello:0.1.0`, 'insecure-registries': registry.host, 'smoke-app': EXAMPLE_APP});
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /Pulled linux\/amd64 127\.0\.0\.1:\d+\/split\/hello@sha256:/);
    assert.match(run.stdout, /detected hello\.txt \(linux\/amd64\)/);
    assert.deepEqual(
      (JSON.parse(run.outputs.smoke) as {platform: string; status: string}[]).map((s: {platform: string; status: string}) => [s.platform, s.status]),
      [['linux/amd64', 'passed']]
    );
  });

  it('merge writes the index under the tags, byte-identical to the single job', async () => {
    const merge = await runAction({...inputs(registry.host, {mode: 'merge', manifests: `${arm64.outputs.manifests}\n${amd64.outputs.manifests}`})}, {env});
    assert.equal(merge.code, 0, merge.stdout);
    assert.equal(merge.outputs.digest, single.outputs.digest);
    assert.deepEqual((await registry.tags('split/hello')).sort(), ['0.1.0', 'latest']);
    const merged = execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/split/hello:0.1.0`]);
    const reference = execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/single/hello:0.1.0`]);
    assert.equal(merged, reference);
    for (const arch of ['amd64', 'arm64']) {
      assert.equal((JSON.parse(execOk('skopeo', ['inspect', '--tls-verify=false', '--override-arch', arch, `docker://${registry.host}/split/hello:latest`])) as {Architecture: string}).Architecture, arch);
    }
  });

  it("merge refuses manifests missing from a tag's repository, writing no tag", async () => {
    const run = await runAction({...inputs(registry.host, {mode: 'merge', manifests: amd64.outputs.manifests}), tags: `${registry.host}/elsewhere/hello:0.1.0`}, {env});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], /127\.0\.0\.1:\d+\/elsewhere\/hello does not hold the manifest sha256:[a-f0-9]{64}; publish it first \(mode: package with the same tags\)/);
    assert.deepEqual(await registry.tags('elsewhere/hello'), []);
  });

  it('merge refuses a malformed or duplicated manifests input', async () => {
    const dup = await runAction({...inputs(registry.host, {mode: 'merge', manifests: `${amd64.outputs.manifests}\n${amd64.outputs.manifests}`})});
    assert.match(dup.errors[0], /Input "manifests" lists linux\/amd64 twice/);
    const junk = await runAction({...inputs(registry.host, {mode: 'merge', manifests: 'not json'})});
    assert.match(junk.errors[0], /Input "manifests" has a line that is not JSON/);
  });
});
