/**
 * Parity with pack: the action's layers are byte for byte what pack's layer writer (reproduced
 * by fixtures/packtar in Go) writes for the same directory, so the same buildpack gets the same
 * diffID from both; labels, targets, composites, extensions and Paketo's libpak layout as pack
 * and the lifecycle read them, checked with skopeo and umoci.
 */
import assert from 'node:assert/strict';
import {gunzipSync} from 'node:zlib';
import {createHash} from 'node:crypto';
import {chmod, link, mkdir, readFile, readlink, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, it} from 'node:test';
import {runAction} from '../helpers/action.js';
import {tempDir} from '../helpers/fixtures.js';
import {execOk} from '../helpers/exec.js';
import {platformConfig, unpackPlatform} from '../helpers/images.js';
import {packLayer} from '../helpers/packtar.js';

interface Layout {
  manifest(arch: string): Promise<{layers: {digest: string; mediaType: string}[]}>;
  blob(digest: string): Promise<Buffer>;
}

function layoutOf(dir: string): Layout {
  const blob = (digest: string): Promise<Buffer> => readFile(path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  return {
    blob,
    async manifest(arch) {
      const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {manifests: {digest: string}[]};
      const top = JSON.parse((await blob(index.manifests[0].digest)).toString()) as {manifests: {digest: string; platform: {architecture: string}}[]};
      const entry = top.manifests.find(m => m.platform.architecture === arch);
      assert.ok(entry, `no ${arch} in the index`);
      return JSON.parse((await blob(entry.digest)).toString()) as {layers: {digest: string; mediaType: string}[]};
    }
  };
}

/** Where two tars first differ, for a readable failure. */
function firstDifference(a: Buffer, b: Buffer): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const block = Math.floor(i / 512) * 512;
      return `at byte ${i} (block at ${block}, offset ${i - block}): action ${JSON.stringify(a.subarray(block, block + 100).toString('latin1'))} vs pack ${JSON.stringify(b.subarray(block, block + 100).toString('latin1'))}`;
    }
  }
  return `lengths ${a.length} and ${b.length}`;
}

async function write(file: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true});
  await writeFile(file, content);
  await chmod(file, mode);
}

/**
 * A buildpack with what pack's layer writer treats specially: scripts, a symlink, a hard-link
 * pair, an empty directory, a path over 100 bytes that USTAR splits, and a name over 100 bytes
 * that only PAX holds.
 */
async function parityFixture(): Promise<string> {
  const dir = path.join(await tempDir('parity-'), 'bp');
  await write(
    path.join(dir, 'buildpack.toml'),
    'api = "0.10"\n\n[buildpack]\n  id = "test/parity"\n  version = "0.0.1"\n  name = "Parity"\n\n[[targets]]\n  os = "linux"\n  arch = "amd64"\n\n[[targets]]\n  os = "linux"\n  arch = "arm64"\n'
  );
  await write(path.join(dir, 'bin', 'detect'), '#!/bin/sh\nexit 0\n', 0o755);
  await symlink('detect', path.join(dir, 'bin', 'build'));
  await write(path.join(dir, 'lib', 'original.txt'), 'the same bytes under two names\n');
  await link(path.join(dir, 'lib', 'original.txt'), path.join(dir, 'lib', 'second-name.txt'));
  await mkdir(path.join(dir, 'empty', 'nested'), {recursive: true});
  await write(path.join(dir, 'share', 'd'.repeat(60), `${'f'.repeat(50)}.txt`), 'a path over 100 bytes, split by USTAR\n');
  await write(path.join(dir, 'share', `${'n'.repeat(110)}.txt`), 'a name over 100 bytes, held by PAX\n');
  await write(path.join(dir, 'tools', 'helper.sh'), '#!/bin/sh\necho help\n', 0o750);
  await write(path.join(dir, 'README.md'), '# parity\n', 0o600);
  return dir;
}

describe('parity with pack: layers', () => {
  it('the layer of every platform is byte for byte what pack writes for the directory', async () => {
    const dir = await parityFixture();
    const output = path.join(await tempDir('parity-out-'), 'out');
    const run = await runAction({path: dir, output});
    assert.equal(run.code, 0, run.stdout);
    const pack = await packLayer(dir, 'buildpack', 'test/parity', '0.0.1');
    const layout = layoutOf(output);
    for (const arch of ['amd64', 'arm64']) {
      const manifest = await layout.manifest(arch);
      assert.equal(manifest.layers.length, 1);
      const ours = gunzipSync(await layout.blob(manifest.layers[0].digest));
      assert.ok(ours.equals(pack.tar), `${arch}: the layer differs from pack's ${firstDifference(ours, pack.tar)}`);
      const config = platformConfig(output, '0.0.1', arch);
      assert.deepEqual(config.rootfs.diff_ids, [pack.diffID], `${arch}: diffID`);
      const layers = JSON.parse(config.config.Labels['io.buildpacks.buildpack.layers']) as Record<string, Record<string, {layerDiffID: string}>>;
      assert.equal(layers['test/parity']['0.0.1'].layerDiffID, pack.diffID);
    }
  });
});

/** A scripts-only buildpack (bin/detect, bin/build), samples-style, with the given descriptor lines. */
async function scriptBuildpack(dir: string, id: string, version: string, extra = '[[targets]]\n  os = "linux"\n'): Promise<string> {
  await write(path.join(dir, 'buildpack.toml'), `api = "0.10"\n\n[buildpack]\n  id = "${id}"\n  version = "${version}"\n  name = "${id}"\n\n${extra}`);
  await write(path.join(dir, 'bin', 'detect'), '#!/usr/bin/env bash\nexit 0\n', 0o755);
  await write(path.join(dir, 'bin', 'build'), `#!/usr/bin/env bash\necho "${id} built"\n`, 0o755);
  return dir;
}

function labelsOf(layout: string, version: string, arch: string): {meta: Record<string, unknown>; layers: Record<string, Record<string, Record<string, unknown>>>; diffIDs: string[]} {
  const config = platformConfig(layout, version, arch);
  return {
    meta: JSON.parse(config.config.Labels['io.buildpacks.buildpackage.metadata']) as Record<string, unknown>,
    layers: JSON.parse(config.config.Labels['io.buildpacks.buildpack.layers']) as Record<string, Record<string, Record<string, unknown>>>,
    diffIDs: config.rootfs.diff_ids
  };
}

describe('parity with pack: targets', () => {
  it('accepts os-only targets (the default architectures apply) and labels them as written', async () => {
    const dir = await scriptBuildpack(path.join(await tempDir('os-only-'), 'bp'), 'samples/hello-world', '0.0.2');
    const output = path.join(await tempDir('os-only-out-'), 'out');
    const run = await runAction({path: dir, output});
    assert.equal(run.code, 0, run.stdout);
    for (const arch of ['amd64', 'arm64']) {
      const {layers, meta} = labelsOf(output, '0.0.2', arch);
      assert.deepEqual(layers['samples/hello-world']['0.0.2'].targets, [{os: 'linux', arch: ''}], 'as pack writes an os-only target');
      assert.equal(layers['samples/hello-world']['0.0.2'].api, '0.10');
      assert.deepEqual(meta.stacks, [{id: '*'}]);
      assert.equal(platformConfig(output, '0.0.2', arch).architecture, arch);
    }
  });
});

describe('parity with pack: composites', () => {
  it('a family of local components ships every layer in a dry run, with the digest a publish gets', async () => {
    const root = await tempDir('family-');
    await scriptBuildpack(path.join(root, 'hello-world'), 'samples/hello-world', '0.0.2');
    await scriptBuildpack(path.join(root, 'hello-moon'), 'samples/hello-moon', '0.0.2', '[[stacks]]\n  id = "*"\n');
    const family = path.join(root, 'hello-universe');
    await write(
      path.join(family, 'buildpack.toml'),
      'api = "0.10"\n\n[buildpack]\n  id = "samples/hello-universe"\n  version = "0.0.2"\n  name = "Hello Universe"\n\n[[order]]\n  [[order.group]]\n    id = "samples/hello-world"\n    version = "0.0.2"\n    exec-env = ["production"]\n  [[order.group]]\n    id = "samples/hello-moon"\n    version = "0.0.2"\n    optional = true\n'
    );
    await write(path.join(family, 'package.toml'), '[buildpack]\nuri = "."\n\n[[dependencies]]\nuri = "../hello-world"\n\n[[dependencies]]\nuri = "../hello-moon"\n');
    const dry = await runAction({path: family, output: path.join(await tempDir('family-dry-'), 'out'), push: 'false'});
    assert.equal(dry.code, 0, dry.stdout);
    const {startRegistry} = await import('../helpers/registry.js');
    const registry = await startRegistry({});
    try {
      const output = path.join(await tempDir('family-pub-'), 'out');
      const published = await runAction({path: family, output, tags: `${registry.host}/family/universe:0.0.2`, 'insecure-registries': registry.host});
      assert.equal(published.code, 0, published.stdout);
      assert.equal(published.outputs.digest, dry.outputs.digest, 'dry run and publish give one digest');
      for (const arch of ['amd64', 'arm64']) {
        const {layers, diffIDs, meta} = labelsOf(output, '0.0.2', arch);
        assert.equal(diffIDs.length, 3, 'both components and the family');
        assert.deepEqual(Object.keys(layers), ['samples/hello-moon', 'samples/hello-universe', 'samples/hello-world']);
        const own = layers['samples/hello-universe']['0.0.2'];
        assert.equal(own.targets, undefined, "a composite's own entry has no targets");
        assert.deepEqual(own.order, [
          {
            group: [
              {id: 'samples/hello-world', version: '0.0.2', 'exec-env': ['production']},
              {id: 'samples/hello-moon', version: '0.0.2', optional: true}
            ]
          }
        ]);
        assert.deepEqual(meta.stacks, [{id: '*'}], 'stacks merged as pack merges them');
        assert.deepEqual(layers['samples/hello-moon']['0.0.2'].stacks, [{id: '*'}]);
      }
      // The family as published: all three layers in the registry.
      const raw = JSON.parse(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', '--override-arch', 'arm64', `docker://${registry.host}/family/universe:0.0.2`])) as {manifests: {digest: string; platform: {architecture: string}}[]};
      const arm = raw.manifests.find(m => m.platform.architecture === 'arm64');
      const manifest = JSON.parse(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/family/universe@${arm?.digest}`])) as {layers: unknown[]};
      assert.equal(manifest.layers.length, 3);
    } finally {
      await registry.stop();
    }
  });

  it('refuses a group entry no component provides, and a component no group uses, before building', async () => {
    const root = await tempDir('family-bad-');
    await scriptBuildpack(path.join(root, 'a'), 'test/a', '1.0.0');
    await scriptBuildpack(path.join(root, 'b'), 'test/b', '1.0.0');
    const family = path.join(root, 'family');
    const toml = (group: string): string => `api = "0.10"\n[buildpack]\n  id = "test/family"\n  version = "1.0.0"\n[[order]]\n${group}`;
    await write(path.join(family, 'package.toml'), '[buildpack]\nuri = "."\n[[dependencies]]\nuri = "../a"\n[[dependencies]]\nuri = "../b"\n');
    await write(
      path.join(family, 'buildpack.toml'),
      toml('  [[order.group]]\n    id = "test/a"\n    version = "1.0.0"\n  [[order.group]]\n    id = "test/b"\n    version = "1.0.0"\n  [[order.group]]\n    id = "test/c"\n    version = "2.0.0"\n')
    );
    const missing = await runAction({path: family, output: path.join(await tempDir('fam-out-'), 'out')});
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(missing.errors[0], /The \[\[order\]\] group 1 of the composite test\/family@1\.0\.0 names test\/c@2\.0\.0, which no dependency in .*package\.toml provides; add it to \[\[dependencies\]\] or fix the group/);
    assert.doesNotMatch(missing.stdout, /::group::Build/, 'refused before building');
    await write(path.join(family, 'buildpack.toml'), toml('  [[order.group]]\n    id = "test/a"\n    version = "1.0.0"\n'));
    const unused = await runAction({path: family, output: path.join(await tempDir('fam-out-'), 'out')});
    assert.equal(unused.code, 1, unused.stdout);
    assert.match(unused.errors[0], /package\.toml lists test\/b@1\.0\.0 \(\.\.\/b\), which no \[\[order\]\] group of test\/family@1\.0\.0 uses; add it to a group/);
    assert.doesNotMatch(unused.stdout, /::group::Build/, 'refused before building');
  });

  it('a component reached twice (directly and inside a nested family) contributes one layer', async () => {
    const {startRegistry} = await import('../helpers/registry.js');
    const registry = await startRegistry({});
    try {
      const root = await tempDir('nested-');
      const a = await scriptBuildpack(path.join(root, 'a'), 'test/a', '1.0.0');
      const inner = path.join(root, 'inner');
      await write(path.join(inner, 'buildpack.toml'), 'api = "0.10"\n[buildpack]\n  id = "test/inner"\n  version = "1.0.0"\n[[order]]\n  [[order.group]]\n    id = "test/a"\n    version = "1.0.0"\n');
      await write(path.join(inner, 'package.toml'), '[buildpack]\nuri = "."\n[[dependencies]]\nuri = "../a"\n');
      const innerRun = await runAction({path: inner, output: path.join(await tempDir('inner-out-'), 'out'), tags: `${registry.host}/nested/inner:1.0.0`, 'insecure-registries': registry.host});
      assert.equal(innerRun.code, 0, innerRun.stdout);
      const outer = path.join(root, 'outer');
      await write(
        path.join(outer, 'buildpack.toml'),
        'api = "0.10"\n[buildpack]\n  id = "test/outer"\n  version = "1.0.0"\n[[order]]\n  [[order.group]]\n    id = "test/inner"\n    version = "1.0.0"\n[[order]]\n  [[order.group]]\n    id = "test/a"\n    version = "1.0.0"\n'
      );
      await write(path.join(outer, 'package.toml'), `[buildpack]\nuri = "."\n[[dependencies]]\nuri = "docker://${registry.host}/nested/inner:1.0.0"\n[[dependencies]]\nuri = "${path.relative(outer, a)}"\n`);
      const output = path.join(await tempDir('outer-out-'), 'out');
      const run = await runAction({path: outer, output, 'insecure-registries': registry.host});
      assert.equal(run.code, 0, run.stdout);
      const {layers, diffIDs} = labelsOf(output, '1.0.0', 'amd64');
      assert.equal(diffIDs.length, 3, `a, inner and outer, a once: ${diffIDs.join(' ')}`);
      assert.equal(new Set(diffIDs).size, 3);
      assert.deepEqual(Object.keys(layers), ['test/a', 'test/inner', 'test/outer']);
    } finally {
      await registry.stop();
    }
  });
});

describe('parity with pack: image extensions', () => {
  it('packages an extension as pack extension package does, and smoke-tests it on amd64 and arm64', async () => {
    const dir = path.join(await tempDir('extension-'), 'curl');
    await write(
      path.join(dir, 'extension.toml'),
      'api = "0.10"\n\n[extension]\n  id = "samples/curl"\n  version = "{{ .version }}"\n  name = "Curl Extension"\n  homepage = "https://example.com/curl"\n  description = "Installs curl on the run image"\n\n[[targets]]\n  os = "linux"\n  arch = "amd64"\n\n[[targets]]\n  os = "linux"\n  arch = "arm64"\n'
    );
    await write(path.join(dir, 'go.mod'), 'module example.com/curl\n\ngo 1.19\n');
    // packit's layout for an extension: run/ becomes bin/run, with bin/detect and bin/generate linked to it.
    await write(
      path.join(dir, 'run', 'main.go'),
      `package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

func main() {
	switch filepath.Base(os.Args[0]) {
	case "detect":
		fmt.Printf("curl extension: detect on %s/%s\\n", runtime.GOOS, runtime.GOARCH)
	case "generate":
		out := os.Getenv("CNB_OUTPUT_DIR")
		if out == "" || len(os.Args) < 2 || os.Args[1] != out {
			fmt.Fprintln(os.Stderr, "no output directory")
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(out, "run.Dockerfile"), []byte("FROM base\\nRUN install curl\\n"), 0o644); err != nil {
			os.Exit(1)
		}
		fmt.Printf("curl extension: generated run.Dockerfile on %s/%s\\n", runtime.GOOS, runtime.GOARCH)
	default:
		os.Exit(2)
	}
}
`
    );
    const output = path.join(await tempDir('extension-out-'), 'out');
    const app = await tempDir('extension-app-');
    const run = await runAction({path: dir, version: '0.0.1', output, 'smoke-test': 'emulated', 'smoke-app': app});
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /::group::Smoke test linux\/arm64[\s\S]*?under qemu-user[\s\S]*?generated run\.Dockerfile on linux\/arm64[\s\S]*?detect and generate passed/);
    assert.match(run.stdout, /generated run\.Dockerfile on linux\/amd64/);
    for (const arch of ['amd64', 'arm64']) {
      const config = platformConfig(output, '0.0.1', arch);
      assert.equal(config.config.Labels['io.buildpacks.buildpack.layers'], undefined, 'no buildpack layers label');
      assert.equal(
        config.config.Labels['io.buildpacks.buildpackage.metadata'],
        '{"id":"samples/curl","name":"Curl Extension","version":"0.0.1","description":"Installs curl on the run image","homepage":"https://example.com/curl","stacks":null}'
      );
      const layers = JSON.parse(config.config.Labels['io.buildpacks.extension.layers']) as Record<string, Record<string, Record<string, unknown>>>;
      assert.deepEqual(Object.keys(layers['samples/curl']['0.0.1']), ['api', 'targets', 'layerDiffID', 'homepage', 'name']);
      const rootfs = await unpackPlatform(output, '0.0.1', arch);
      const base = path.join(rootfs, 'cnb', 'extensions', 'samples_curl', '0.0.1');
      assert.equal(await readlink(path.join(base, 'bin', 'detect')), 'run');
      assert.equal(await readlink(path.join(base, 'bin', 'generate')), 'run');
      assert.match(execOk('file', [path.join(base, 'bin', 'run')]), arch === 'amd64' ? /x86-64/ : /aarch64/);
      assert.match(await readFile(path.join(base, 'extension.toml'), 'utf8'), /version = "0\.0\.1"/);
    }
  });
});

describe("parity with pack: Paketo's libpak layout", () => {
  it('builds cmd/main into bin/main with bin/build and bin/detect linked to it, and cmd/helper into bin/helper', async () => {
    const dir = path.join(await tempDir('libpak-'), 'java-like');
    await write(
      path.join(dir, 'buildpack.toml'),
      'api = "0.7"\n\n[buildpack]\n  id = "paketo-buildpacks/java-like"\n  version = "{{.version}}"\n\n[[stacks]]\n  id = "*"\n\n[[targets]]\n  os = "linux"\n  arch = "amd64"\n\n[[targets]]\n  os = "linux"\n  arch = "arm64"\n'
    );
    await write(path.join(dir, 'go.mod'), 'module example.com/java-like\n\ngo 1.19\n');
    const program = (what: string): string => `package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	fmt.Printf("${what} as %s\\n", filepath.Base(os.Args[0]))
}
`;
    await write(path.join(dir, 'cmd', 'main', 'main.go'), program('main'));
    await write(path.join(dir, 'cmd', 'helper', 'main.go'), program('helper'));
    const output = path.join(await tempDir('libpak-out-'), 'out');
    const run = await runAction({path: dir, version: '4.5.6', output, 'smoke-test': 'emulated', 'smoke-app': await tempDir('libpak-app-')});
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /main as detect[\s\S]*main as build/);
    for (const arch of ['amd64', 'arm64']) {
      const rootfs = await unpackPlatform(output, '4.5.6', arch);
      const bin = path.join(rootfs, 'cnb', 'buildpacks', 'paketo-buildpacks_java-like', '4.5.6', 'bin');
      assert.equal(await readlink(path.join(bin, 'build')), 'main');
      assert.equal(await readlink(path.join(bin, 'detect')), 'main');
      for (const f of ['main', 'helper']) assert.match(execOk('file', [path.join(bin, f)]), arch === 'amd64' ? /x86-64/ : /aarch64/);
      const layers = labelsOf(output, '4.5.6', arch).layers;
      assert.equal(layers['paketo-buildpacks/java-like']['4.5.6'].api, '0.7');
      assert.deepEqual(layers['paketo-buildpacks/java-like']['4.5.6'].stacks, [{id: '*'}]);
    }
  });
});

describe('parity with pack: format docker', () => {
  it('publishes the Docker manifest list, and its layout is one skopeo copies (an OCI index over the same manifests)', async () => {
    const {startRegistry} = await import('../helpers/registry.js');
    const registry = await startRegistry({});
    try {
      const dir = await scriptBuildpack(path.join(await tempDir('docker-fmt-'), 'bp'), 'test/docker', '1.0.0');
      const output = path.join(await tempDir('docker-fmt-out-'), 'out');
      const run = await runAction({path: dir, output, format: 'docker', tags: `${registry.host}/fmt/published:1.0.0`, 'insecure-registries': registry.host});
      assert.equal(run.code, 0, run.stdout);
      const published = execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/fmt/published:1.0.0`]);
      assert.equal(`sha256:${createHash('sha256').update(published).digest('hex')}`, run.outputs.digest);
      const list = JSON.parse(published) as {mediaType: string; manifests: {digest: string}[]};
      assert.equal(list.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
      execOk('skopeo', ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${output}:1.0.0`, `docker://${registry.host}/fmt/copied:1.0.0`]);
      const copied = JSON.parse(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/fmt/copied:1.0.0`])) as {mediaType: string; manifests: {digest: string}[]};
      assert.equal(copied.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.deepEqual(
        copied.manifests.map(m => m.digest),
        list.manifests.map(m => m.digest),
        'the same platform manifests, byte for byte'
      );
    } finally {
      await registry.stop();
    }
  });
});
