/**
 * End to end: the committed bundle packages the example buildpack for amd64 and arm64, and tools
 * the project did not write (skopeo, umoci, file, qemu-aarch64-static) check the result.
 */
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {lstat, mkdir, readFile, readlink} from 'node:fs/promises';
import path from 'node:path';
import {before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {execOk, exec} from '../helpers/exec.js';
import {tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_APP, EXAMPLE_BUILDPACK} from '../helpers/paths.js';

const VERSION = '0.1.0';
const BP_ROOT = 'cnb/buildpacks/examples_hello/0.1.0';
const MTIME_1980 = Date.UTC(1980, 0, 1, 0, 0, 1) / 1000;

interface Manifest {
  platform: {os: string; architecture: string; variant?: string};
  digest: string;
  size: number;
  mediaType: string;
  experimental: boolean;
}

describe('packaging the example buildpack for amd64 and arm64', () => {
  let run: ActionRun;
  let layout: string;

  before(async () => {
    layout = path.join(await tempDir('e2e-'), 'layout');
    run = await runAction(
      {path: EXAMPLE_BUILDPACK, version: VERSION, architectures: 'amd64, arm64', experimental: 'true', output: layout, annotations: 'org.example.team=buildpacks'},
      {env: {GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/hello', GITHUB_SHA: 'f'.repeat(40)}}
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });

  it('sets the outputs and a job summary, with each phase in a log group', async () => {
    const bytes = await readFile(path.join(layout, 'blobs', 'sha256', run.outputs.digest.slice(7)));
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, run.outputs.digest);
    const manifests = JSON.parse(run.outputs.manifests) as Manifest[];
    assert.deepEqual(
      manifests.map(m => [m.platform, m.experimental, m.mediaType]),
      [
        [{os: 'linux', architecture: 'amd64'}, false, 'application/vnd.oci.image.manifest.v1+json'],
        [{os: 'linux', architecture: 'arm64'}, true, 'application/vnd.oci.image.manifest.v1+json']
      ]
    );
    assert.equal(run.outputs.layout, layout);
    const cnb = JSON.parse(run.outputs['cnb-files']) as Record<string, string>;
    assert.deepEqual(cnb, {
      'linux/amd64': path.join(layout, 'examples_hello-0.1.0-linux-amd64.cnb'),
      'linux/arm64': path.join(layout, 'examples_hello-0.1.0-linux-arm64.cnb')
    });
    const metadata = JSON.parse(run.outputs.metadata) as {digest: string; id: string; version: string};
    assert.equal(metadata.digest, run.outputs.digest);
    assert.equal(metadata.id, 'examples/hello');
    for (const m of manifests) assert.ok(run.summary.includes(m.digest), 'summary lists every platform digest');
    assert.match(run.summary, /<table>/);
    for (const group of ['Read buildpack', 'Build examples/hello (go)', 'Package']) assert.ok(run.stdout.includes(`::group::${group}`), group);
  });

  it('writes an index with platforms, experimental and OCI annotations, readable by skopeo', () => {
    const index = JSON.parse(execOk('skopeo', ['inspect', '--raw', `oci:${layout}:${VERSION}`])) as {
      manifests: {platform: {architecture: string}; annotations?: Record<string, string>}[];
      annotations: Record<string, string>;
    };
    assert.deepEqual(
      index.manifests.map(m => m.platform.architecture),
      ['amd64', 'arm64']
    );
    assert.equal(index.manifests[0].annotations, undefined);
    assert.deepEqual(index.manifests[1].annotations, {'io.paketo.experimental': 'true'});
    assert.deepEqual(index.annotations, {
      'org.example.team': 'buildpacks',
      'org.opencontainers.image.description': 'Greets apps that carry a hello.txt; the example for multiarch-buildpack-action',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.revision': 'f'.repeat(40),
      'org.opencontainers.image.source': 'https://github.com/acme/hello',
      'org.opencontainers.image.title': 'Hello Buildpack',
      'org.opencontainers.image.version': VERSION
    });
  });

  it('skopeo copy --all reads the layout and resolves both platforms', async () => {
    const copy = path.join(await tempDir('copy-'), 'copy');
    execOk('skopeo', ['copy', '--all', '--preserve-digests', `oci:${layout}:${VERSION}`, `oci:${copy}:copied`]);
    const raw = execOk('skopeo', ['inspect', '--raw', `oci:${copy}:copied`]);
    assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, run.outputs.digest);
    for (const arch of ['amd64', 'arm64']) {
      const config = JSON.parse(execOk('skopeo', ['inspect', '--override-os', 'linux', '--override-arch', arch, '--config', `oci:${copy}:copied`])) as {
        architecture: string;
        os: string;
        variant?: string;
        created: string;
        config: {Labels: Record<string, string>};
      };
      assert.equal(config.architecture, arch);
      assert.equal(config.os, 'linux');
      assert.equal(config.variant, undefined);
      assert.equal(config.created, '1980-01-01T00:00:01Z');
      const layers = JSON.parse(config.config.Labels['io.buildpacks.buildpack.layers']) as Record<string, Record<string, {targets: {arch: string}[]}>>;
      // As pack writes them: buildpack.toml's targets as written, in every platform's image.
      assert.deepEqual(layers['examples/hello'][VERSION].targets, [
        {os: 'linux', arch: 'amd64'},
        {os: 'linux', arch: 'arm64'}
      ]);
      assert.equal((JSON.parse(config.config.Labels['io.buildpacks.buildpackage.metadata']) as {version: string}).version, VERSION);
    }
  });

  for (const [arch, elf] of [
    ['amd64', 'x86-64'],
    ['arm64', 'ARM aarch64']
  ]) {
    it(`the ${arch} image unpacks with umoci: paths, modes, owner, mtime, and a ${elf} bin/run`, async () => {
      const work = await tempDir(`umoci-${arch}-`);
      execOk('skopeo', ['copy', '--override-os', 'linux', '--override-arch', arch, `oci:${layout}:${VERSION}`, `oci:${work}/single:img`]);
      execOk('umoci', ['unpack', '--image', `${work}/single:img`, `${work}/bundle`]);
      const root = path.join(work, 'bundle', 'rootfs', BP_ROOT);
      const expected: [string, string, number][] = [
        ['', 'dir', 0o755],
        ['README.md', 'file', 0o644],
        ['bin', 'dir', 0o755],
        ['bin/run', 'file', 0o755],
        ['bin/detect', 'link', 0],
        ['bin/build', 'link', 0],
        ['buildpack.toml', 'file', 0o644]
      ];
      for (const [rel, kind, mode] of expected) {
        const st = await lstat(path.join(root, rel));
        assert.equal(st.uid, 0, `${rel} owner`);
        assert.equal(st.gid, 0, `${rel} group`);
        assert.equal(Math.round(st.mtimeMs / 1000), MTIME_1980, `${rel} mtime`);
        if (kind === 'link') {
          assert.ok(st.isSymbolicLink(), `${rel} is a symlink`);
          assert.equal(await readlink(path.join(root, rel)), 'run');
        } else {
          assert.equal(st.mode & 0o777, mode, `${rel} mode`);
        }
      }
      const toml = await readFile(path.join(root, 'buildpack.toml'), 'utf8');
      assert.match(toml, /version = "0\.1\.0"/);
      assert.doesNotMatch(toml, /\{\{/);
      assert.match(execOk('file', ['-b', path.join(root, 'bin', 'run')]), new RegExp(`ELF 64-bit LSB executable, ${elf}`));
      // Only the files include-files lists: no Go sources, no go.mod.
      assert.equal(exec('ls', [path.join(root, 'go.mod')]).code !== 0, true);
    });
  }

  it('the arm64 bin/detect and bin/build run under qemu-aarch64-static against the example app', async () => {
    const work = await tempDir('qemu-');
    execOk('skopeo', ['copy', '--override-os', 'linux', '--override-arch', 'arm64', `oci:${layout}:${VERSION}`, `oci:${work}/single:img`]);
    execOk('umoci', ['unpack', '--image', `${work}/single:img`, `${work}/bundle`]);
    const bin = path.join(work, 'bundle', 'rootfs', BP_ROOT, 'bin');
    for (const dir of ['platform', 'layers']) await mkdir(path.join(work, dir));
    const env = {...process.env, CNB_PLATFORM_DIR: path.join(work, 'platform'), CNB_BUILD_PLAN_PATH: path.join(work, 'plan.toml'), CNB_LAYERS_DIR: path.join(work, 'layers'), CNB_BP_PLAN_PATH: path.join(work, 'plan.toml')};
    const detect = exec('qemu-aarch64-static', [path.join(bin, 'detect'), path.join(work, 'platform'), path.join(work, 'plan.toml')], {cwd: EXAMPLE_APP, env});
    assert.equal(detect.code, 0, detect.stdout + detect.stderr);
    assert.match(detect.stdout, /detected hello\.txt \(linux\/arm64\)/);
    const build = exec('qemu-aarch64-static', [path.join(bin, 'build')], {cwd: EXAMPLE_APP, env});
    assert.equal(build.code, 0, build.stdout + build.stderr);
    assert.match(await readFile(path.join(work, 'layers', 'launch.toml'), 'utf8'), /type = "web"/);
    // And detection fails (100) where there is no hello.txt: the test can tell pass from fail.
    const miss = exec('qemu-aarch64-static', [path.join(bin, 'detect'), path.join(work, 'platform'), path.join(work, 'plan.toml')], {cwd: work, env});
    assert.equal(miss.code, 100);
  });

  it('writes one .cnb per platform that skopeo reads as that platform', () => {
    const cnb = JSON.parse(run.outputs['cnb-files']) as Record<string, string>;
    for (const [platform, file] of Object.entries(cnb)) {
      const inspect = JSON.parse(execOk('skopeo', ['inspect', `oci-archive:${file}`])) as {Architecture: string; Layers: string[]};
      assert.equal(`linux/${inspect.Architecture}`, platform);
      assert.equal(inspect.Layers.length, 1);
      const listing = execOk('tar', ['-tf', file]).split('\n').filter(Boolean);
      assert.deepEqual(listing.slice(0, 4), ['oci-layout', 'index.json', 'blobs', 'blobs/sha256']);
    }
  });

  it('gives the same digests on a second run with another RUNNER_TEMP and output', async () => {
    const again = path.join(await tempDir('e2e-again-'), 'out');
    const second = await runAction(
      {path: EXAMPLE_BUILDPACK, version: VERSION, architectures: 'arm64\namd64', experimental: 'true', output: again, annotations: 'org.example.team=buildpacks'},
      {
        env: {GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/hello', GITHUB_SHA: 'f'.repeat(40)}
      }
    );
    assert.equal(second.code, 0, second.stdout);
    assert.equal(second.outputs.digest, run.outputs.digest);
    assert.equal(second.outputs.manifests, run.outputs.manifests);
    for (const name of ['examples_hello-0.1.0-linux-amd64.cnb', 'examples_hello-0.1.0-linux-arm64.cnb']) {
      assert.ok((await readFile(path.join(again, name))).equals(await readFile(path.join(layout, name))), `${name} is byte-identical`);
    }
  });

  it('build: command gets the target in its environment and yields the same images as build: auto', async () => {
    const output = path.join(await tempDir('e2e-command-'), 'out');
    const command = [
      'mkdir -p "$OUTPUT_DIR/bin"',
      'echo "building for $TARGET_OS/$TARGET_ARCH (GOARCH=$GOARCH)"',
      'CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o "$OUTPUT_DIR/bin/run" ./cmd/run',
      'ln -s run "$OUTPUT_DIR/bin/detect"',
      'ln -s run "$OUTPUT_DIR/bin/build"'
    ].join('\n');
    const byCommand = await runAction(
      {path: EXAMPLE_BUILDPACK, version: VERSION, architectures: 'amd64,arm64', experimental: 'true', output, annotations: 'org.example.team=buildpacks', build: 'command', 'build-command': command},
      {env: {GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/hello', GITHUB_SHA: 'f'.repeat(40)}}
    );
    assert.equal(byCommand.code, 0, byCommand.stdout + byCommand.stderr);
    assert.match(byCommand.stdout, /building for linux\/arm64 \(GOARCH=arm64\)/);
    assert.equal(byCommand.outputs.digest, run.outputs.digest);
  });
});
