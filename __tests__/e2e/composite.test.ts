/**
 * Language-family composites: two components published with the action itself to a real
 * registry, then a composite referencing them by tag, checked with skopeo per platform.
 */
import assert from 'node:assert/strict';
import {cp, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

interface Config {
  architecture: string;
  rootfs: {diff_ids: string[]};
  config: {Labels: Record<string, string>};
}

function configOf(registry: TestRegistry, ref: string, arch: string): Config {
  return JSON.parse(execOk('skopeo', ['inspect', '--config', '--tls-verify=false', '--override-os', 'linux', '--override-arch', arch, `docker://${registry.host}/${ref}`])) as Config;
}

/** A component: the example buildpack under another id and version. */
async function component(id: string, version: string): Promise<string> {
  const dir = await copyExample();
  const file = path.join(dir, 'buildpack.toml');
  await writeFile(file, (await readFile(file, 'utf8')).replace('id = "examples/hello"', `id = "${id}"`).replace('version = "{{ .version }}"', `version = "${version}"`));
  return dir;
}

async function composite(dependencies: string[], targets = ['amd64', 'arm64']): Promise<string> {
  const dir = path.join(await tempDir('family-'), 'family');
  await cp(path.join(await tempDir('x-'), '.'), dir, {recursive: true});
  await writeFile(
    path.join(dir, 'buildpack.toml'),
    `api = "0.10"

[buildpack]
  id = "examples/family"
  name = "Example Family"
  version = "{{ .version }}"

[metadata]
  include-files = ["buildpack.toml"]

[[order]]
  [[order.group]]
    id = "examples/hello"
    version = "0.1.0"

  [[order.group]]
    id = "examples/greeter"
    version = "0.2.0"
    optional = true
`
  );
  await writeFile(
    path.join(dir, 'package.toml'),
    `[buildpack]
  uri = "."
${dependencies.map(d => `\n[[dependencies]]\n  uri = "${d}"\n`).join('')}
${targets.map(t => `\n[[targets]]\n  os = "linux"\n  arch = "${t}"\n`).join('')}`
  );
  return dir;
}

describe('composites from component images', () => {
  let registry: TestRegistry;
  let family: ActionRun;
  const out = async (): Promise<string> => path.join(await tempDir('out-'), 'out');

  before(async () => {
    registry = await startRegistry({});
    const insecure = {'insecure-registries': registry.host};
    const hello = await runAction({path: await component('examples/hello', '0.1.0'), output: await out(), tags: `${registry.host}/components/hello:0.1.0`, ...insecure});
    assert.equal(hello.code, 0, hello.stdout);
    const greeter = await runAction({path: await component('examples/greeter', '0.2.0'), output: await out(), tags: `${registry.host}/components/greeter:0.2.0`, ...insecure});
    assert.equal(greeter.code, 0, greeter.stdout);
    const amd64Only = await runAction({path: await component('examples/greeter', '0.2.0'), architectures: 'amd64', output: await out(), tags: `${registry.host}/components/amd64-only:0.2.0`, ...insecure});
    assert.equal(amd64Only.code, 0, amd64Only.stdout);
    const dir = await composite([`docker://${registry.host}/components/hello:0.1.0`, `docker://${registry.host}/components/greeter:0.2.0`]);
    family = await runAction({path: dir, version: '1.0.0', output: await out(), tags: `${registry.host}/family/hello-family:1.0.0`, ...insecure});
    assert.equal(family.code, 0, `${family.stdout}\n${family.stderr}`);
  });
  after(async () => registry?.stop());

  for (const arch of ['amd64', 'arm64']) {
    it(`the ${arch} composite carries every component's ${arch} diffIDs, then its own, and labels all three buildpacks`, () => {
      const config = configOf(registry, 'family/hello-family:1.0.0', arch);
      assert.equal(config.architecture, arch);
      const hello = configOf(registry, 'components/hello:0.1.0', arch).rootfs.diff_ids;
      const greeter = configOf(registry, 'components/greeter:0.2.0', arch).rootfs.diff_ids;
      assert.deepEqual(config.rootfs.diff_ids.slice(0, -1), [...hello, ...greeter]);
      assert.equal(config.rootfs.diff_ids.length, 3);
      const layers = JSON.parse(config.config.Labels['io.buildpacks.buildpack.layers']) as Record<string, Record<string, {layerDiffID: string; order?: unknown; targets?: {arch: string}[]}>>;
      assert.deepEqual(Object.keys(layers).sort(), ['examples/family', 'examples/greeter', 'examples/hello']);
      assert.equal(layers['examples/hello']['0.1.0'].layerDiffID, hello[0]);
      assert.deepEqual(layers['examples/family']['1.0.0'].order, [
        {
          group: [
            {id: 'examples/hello', version: '0.1.0'},
            {id: 'examples/greeter', version: '0.2.0', optional: true}
          ]
        }
      ]);
      assert.equal(layers['examples/family']['1.0.0'].layerDiffID, config.rootfs.diff_ids[2]);
      const metadata = JSON.parse(config.config.Labels['io.buildpacks.buildpackage.metadata']) as {id: string; version: string};
      assert.deepEqual([metadata.id, metadata.version], ['examples/family', '1.0.0']);
    });
  }

  it('publishes the index under the tag only, mounting component layers instead of uploading them', () => {
    const index = JSON.parse(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/family/hello-family:1.0.0`])) as {manifests: {platform: {architecture: string}}[]};
    assert.deepEqual(
      index.manifests.map(m => m.platform.architecture),
      ['amd64', 'arm64']
    );
    const metadata = JSON.parse(family.outputs.metadata) as {push: {uploaded: number; mounted: number}};
    assert.equal(metadata.push.mounted, 4, 'two components x two platforms, mounted from their repositories');
    // The composite's own layer holds only buildpack.toml, the same bytes for both platforms:
    // one layer and two configs went up, nothing of the components.
    assert.equal(metadata.push.uploaded, 3, "only the composite's own layer and configs went up");
    const listed = JSON.parse(execOk('skopeo', ['list-tags', '--tls-verify=false', `docker://${registry.host}/family/hello-family`])) as {Tags: string[]};
    assert.deepEqual(listed.Tags, ['1.0.0']);
  });

  it('a component built from a local path gives the same image as its published one', async () => {
    const helloDir = await component('examples/hello', '0.1.0');
    const dir = await composite([path.relative(await tempDir('rel-'), helloDir), `docker://${registry.host}/components/greeter:0.2.0`]);
    // Relative to the composite directory, as a monorepo would write it.
    const packageToml = path.join(dir, 'package.toml');
    await writeFile(packageToml, (await readFile(packageToml, 'utf8')).replace(/uri = "[^"]*hello-buildpack"/, `uri = "${path.relative(dir, helloDir)}"`));
    const run = await runAction({path: dir, version: '1.0.0', output: await out(), tags: `${registry.host}/family/local-family:1.0.0`, 'insecure-registries': registry.host});
    assert.equal(run.code, 0, run.stdout);
    for (const arch of ['amd64', 'arm64']) {
      assert.deepEqual(configOf(registry, 'family/local-family:1.0.0', arch).rootfs.diff_ids, configOf(registry, 'family/hello-family:1.0.0', arch).rootfs.diff_ids);
    }
    assert.equal(run.outputs.digest, family.outputs.digest, 'reproducible: the same family either way');
  });

  it('a local-path component gets its own pre-package, as it would released alone', async () => {
    const helloDir = await component('examples/hello', '0.1.0');
    const toml = path.join(helloDir, 'buildpack.toml');
    await writeFile(toml, (await readFile(toml, 'utf8')).replace('[metadata]', '[metadata]\n  pre-package = "echo ran > pre-package.log"'));
    const dir = await composite([`docker://${registry.host}/components/greeter:0.2.0`]);
    const packageToml = path.join(dir, 'package.toml');
    await writeFile(packageToml, (await readFile(packageToml, 'utf8')).replace('[buildpack]', `[[dependencies]]\n  uri = "${path.relative(dir, helloDir)}"\n\n[buildpack]`));
    const run = await runAction({path: dir, version: '1.0.0', output: await out(), 'insecure-registries': registry.host});
    assert.equal(run.code, 0, run.stdout);
    assert.equal(await readFile(path.join(helloDir, 'pre-package.log'), 'utf8'), 'ran\n');
    assert.match(run.stdout, /::group::Pre-package examples\/hello/);
  });

  it('a component lacking a platform stops the release, naming both, and writes no tag', async () => {
    const dir = await composite([`docker://${registry.host}/components/hello:0.1.0`, `docker://${registry.host}/components/amd64-only:0.2.0`]);
    const run = await runAction({path: dir, version: '1.0.0', output: await out(), tags: `${registry.host}/family/broken:1.0.0`, 'insecure-registries': registry.host});
    assert.equal(run.code, 1);
    assert.equal(run.errors.length, 1);
    assert.match(run.errors[0], new RegExp(`The composite's dependency ${registry.host.replace(/[.]/g, '\\.')}/components/amd64-only:0\\.2\\.0 \\(.*package\\.toml\\) has no linux/arm64 image; publish that component for linux/arm64 first`));
    assert.deepEqual(await registry.tags('family/broken'), []);
    assert.ok(!(await registry.catalog()).includes('family/broken'));
  });
});
