/**
 * Hostile archives, environments, signals and disks, through the bundle as the runner runs it:
 * extraction stays inside its folder, children never see a credential, a full disk and a
 * cancelled job leave nothing behind, and files as users have them (CRLF, BOM) are read right.
 */
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {existsSync} from 'node:fs';
import {chmod, mkdir, readFile, readdir, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {writeLayer} from '../../src/oci/layer-writer.js';
import {layoutIndex} from '../../src/oci/layout.js';
import {BlobStore} from '../../src/oci/store.js';
import {MediaType} from '../../src/oci/types.js';
import {NORMALIZED_MTIME} from '../../src/image/layer-entries.js';
import {runAction, type ActionRun} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {runnerCommands, startFront} from '../helpers/hostile.js';
import {unpackPlatform} from '../helpers/images.js';
import {EXAMPLE_APP, EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {releaseAssets, releasePaths, sha256, startReleaseServer, type ReleaseServer} from '../helpers/releases.js';
import {DEFAULT_VERSIONS} from '../../src/tools/versions.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

const VERSION = '0.1.0';
/** A build-command body that fills the platform root as the example's include-files expect. */
const SCRIPTS = 'mkdir -p "$OUTPUT_DIR/bin"; printf "#!/bin/sh\\nexit 0\\n" > "$OUTPUT_DIR/bin/run"; chmod +x "$OUTPUT_DIR/bin/run"; ln -s run "$OUTPUT_DIR/bin/detect"; ln -s run "$OUTPUT_DIR/bin/build"';

function assertOneSentence(run: ActionRun, message: RegExp): void {
  assert.notEqual(run.code, 0, run.stdout);
  assert.equal(run.errors.length, 1, run.stdout);
  assert.match(run.errors[0], message);
  assert.match(run.errors[0], /^::error(?: [^:\n]*)?::[^\n]+\.$/);
  assert.doesNotMatch(run.errors[0], /Internal error/);
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

/** Every file under `dir` whose name starts with `prefix`, however deep. */
async function findNamed(dir: string, prefix: string, depth = 12): Promise<string[]> {
  if (depth < 0) return [];
  const found: string[] = [];
  for (const e of await readdir(dir, {withFileTypes: true}).catch(() => [])) {
    const full = path.join(dir, e.name);
    if (e.name.startsWith(prefix)) found.push(full);
    if (e.isDirectory() && !e.isSymbolicLink()) found.push(...(await findNamed(full, prefix, depth - 1)));
  }
  return found;
}

/** The action's own folders left in RUNNER_TEMP or in an output. */
async function leftovers(...dirs: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (/^multiarch-buildpack-(work|smoke)-|^\.multiarch-(staging|old)-|\.partial/.test(name)) found.push(path.join(dir, name));
    }
  }
  return found;
}

describe('hardening: archives that try to write outside', () => {
  let registry: TestRegistry;
  let releases: ReleaseServer;
  before(async () => {
    registry = await startRegistry({});
    releases = await startReleaseServer();
  });
  after(async () => {
    await registry?.stop();
    await releases?.stop();
  });

  it('a smoke test of an image whose layer holds a chain of symlinks writes nothing outside', async () => {
    const marker = `pwned-${randomUUID()}`;
    const work = await tempDir('chain-image-');
    const store = new BlobStore(work);
    const root = 'cnb/buildpacks/examples_hello/0.1.0';
    const d = (name: string) => ({name, type: 'directory' as const, mode: 0o755, mtime: NORMALIZED_MTIME});
    const script = Buffer.from('#!/bin/sh\nexit 0\n');
    const layer = await writeLayer(
      [
        d('cnb'),
        d('cnb/buildpacks'),
        d('cnb/buildpacks/examples_hello'),
        d(root),
        d(`${root}/bin`),
        {name: `${root}/bin/detect`, type: 'file', mode: 0o755, mtime: NORMALIZED_MTIME, content: script, size: script.length},
        {name: `${root}/bin/build`, type: 'file', mode: 0o755, mtime: NORMALIZED_MTIME, content: script, size: script.length},
        {name: 'a', type: 'symlink', mode: 0o777, mtime: NORMALIZED_MTIME, linkname: '.'},
        {name: 'a/b', type: 'symlink', mode: 0o777, mtime: NORMALIZED_MTIME, linkname: '..'},
        {name: 'a/b/c', type: 'symlink', mode: 0o777, mtime: NORMALIZED_MTIME, linkname: '..'},
        {name: `a/b/c/${marker}`, type: 'file', mode: 0o644, mtime: NORMALIZED_MTIME, content: Buffer.from('x'), size: 1}
      ],
      store,
      MediaType.Layer
    );
    const labels = {
      'io.buildpacks.buildpackage.metadata': JSON.stringify({id: 'examples/hello', version: VERSION, stacks: [{id: '*'}]}),
      'io.buildpacks.buildpack.layers': JSON.stringify({'examples/hello': {[VERSION]: {api: '0.10', layerDiffID: layer.diffID}}})
    };
    const config = await store.writeJson(MediaType.ImageConfig, {architecture: 'amd64', os: 'linux', created: '1980-01-01T00:00:01Z', config: {Labels: labels}, rootfs: {type: 'layers', diff_ids: [layer.diffID]}});
    const manifest = await store.writeJson(MediaType.ImageManifest, {schemaVersion: 2, mediaType: MediaType.ImageManifest, config: config.descriptor, layers: [layer.descriptor]});
    await writeFile(path.join(work, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(path.join(work, 'index.json'), layoutIndex(manifest.descriptor, 'chain'));
    execOk('skopeo', ['copy', '--dest-tls-verify=false', `oci:${work}:chain`, `docker://${registry.host}/hostile/chain:1`]);

    const runnerTemp = await tempDir('chain-temp-');
    const manifests = JSON.stringify([{platform: {os: 'linux', architecture: 'amd64'}, digest: manifest.descriptor.digest, size: manifest.descriptor.size, mediaType: MediaType.ImageManifest}]);
    const run = await runAction({mode: 'smoke', manifests, tags: `${registry.host}/hostile/chain:1`, 'insecure-registries': registry.host, 'smoke-app': EXAMPLE_APP}, {runnerTemp});
    assertOneSentence(run, /layer sha256:[a-f0-9]{64} holds "a\/b", which would be written through the symlink "a" it made earlier; refusing to extract it\./);
    assert.deepEqual(await findNamed(path.dirname(runnerTemp), marker, 3), [], 'nothing written outside');
    assert.deepEqual(await leftovers(runnerTemp), [], 'no work folders left');
  });

  it('a tool archive from a mirror holding a chain of symlinks writes nothing outside', async () => {
    const marker = `pwned-${randomUUID()}`;
    const dir = await tempDir('chain-tgz-');
    // GNU tar writes the links as they are; the last entry then goes through them.
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, 'src', 'x'), 'x');
    execFileSync('bash', [
      '-c',
      `cd "${dir}" && ln -s . a && tar -cf chain.tar a && rm a && mkdir a && ln -s .. a/b && tar -rf chain.tar a/b && rm a/b && mkdir a/b && ln -s .. a/b/c && tar -rf chain.tar a/b/c && tar -rf chain.tar --transform 's,^src/x$,a/b/c/${marker},' src/x && gzip -9 chain.tar`
    ]);
    const tgz = await readFile(path.join(dir, 'chain.tar.gz'));
    const version = `0.0.${Math.floor(Math.random() * 1e6)}`;
    for (const [p, body] of releaseAssets({pack: version, jam: DEFAULT_VERSIONS.jam, buildx: DEFAULT_VERSIONS.buildx})) releases.put(p, body);
    const paths = releasePaths({pack: version, jam: DEFAULT_VERSIONS.jam, buildx: DEFAULT_VERSIONS.buildx});
    releases.put(paths.pack, tgz);
    releases.put(paths.packSha256, Buffer.from(`${sha256(tgz)}  pack-v${version}-linux.tgz\n`));
    const runnerTemp = await tempDir('chain-tool-');
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, tools: `pack@${version}`, 'tools-download-base-url': releases.url, output: path.join(runnerTemp, 'out')}, {runnerTemp});
    assertOneSentence(run, /pack-v[\d.]+-linux\.tgz holds "a\/b", which would be written through the symlink "a" it made earlier; refusing to extract it\./);
    assert.deepEqual(await findNamed(path.dirname(runnerTemp), marker, 3), [], 'nothing written outside');
    assert.deepEqual(await findNamed(runnerTemp, marker), [], 'nor inside');
  });
});

describe('hardening: child processes see no credentials', () => {
  it('build-command, pre-package, go build and smoke-command get no password, input or runner token', async () => {
    const dumps = await tempDir('env-dumps-');
    const password = `pw-${randomUUID()}`;
    const fakeBin = await tempDir('fake-go-');
    const realGo = execFileSync('bash', ['-c', 'command -v go']).toString().trim();
    await writeFile(path.join(fakeBin, 'go'), `#!/bin/sh\nenv > "$ENV_DUMPS/go-$GOARCH.txt"\nexec "${realGo}" "$@"\n`);
    await chmod(path.join(fakeBin, 'go'), 0o755);
    const dir = await copyExample();
    const toml = await readFile(path.join(dir, 'buildpack.toml'), 'utf8');
    await writeFile(path.join(dir, 'buildpack.toml'), toml.replace('[metadata]', '[metadata]\n  pre-package = "env > $ENV_DUMPS/pre-package.txt"'));
    const env = {
      ENV_DUMPS: dumps,
      PATH: `${fakeBin}:${process.env.PATH}`,
      ACTIONS_RUNTIME_TOKEN: 'runtime-token-should-not-leak',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-token-should-not-leak',
      SOME_COPY_OF_THE_PASSWORD: `prefix-${password}`
    };
    const common = {version: VERSION, 'registry-username': 'someone', 'registry-password': password, tags: `127.0.0.1:1/acme/x:${VERSION}`, push: 'false'};
    const goRun = await runAction({...common, path: dir, output: path.join(await tempDir('env-out-'), 'out'), 'smoke-command': 'env > "$ENV_DUMPS/smoke-$TARGET_ARCH.txt"', 'smoke-app': EXAMPLE_APP}, {env});
    assert.equal(goRun.code, 0, goRun.stdout);
    const commandRun = await runAction({...common, path: dir, build: 'command', 'build-command': `env > "$ENV_DUMPS/build-$TARGET_ARCH.txt"; ${SCRIPTS}`, output: path.join(await tempDir('env-out-'), 'out')}, {env});
    assert.equal(commandRun.code, 0, commandRun.stdout);
    const files = (await readdir(dumps)).sort();
    assert.deepEqual(files, ['build-amd64.txt', 'build-arm64.txt', 'go-amd64.txt', 'go-arm64.txt', 'pre-package.txt', 'smoke-amd64.txt', 'smoke-arm64.txt']);
    for (const file of files) {
      const text = await readFile(path.join(dumps, file), 'utf8');
      assert.ok(!text.includes(password), `${file} holds the password`);
      assert.doesNotMatch(text, /^INPUT_/m, `${file} holds an input`);
      assert.doesNotMatch(text, /runtime-token-should-not-leak|oidc-token-should-not-leak/, `${file} holds a runner token`);
      assert.doesNotMatch(text, /^GITHUB_OUTPUT=|^GITHUB_STATE=/m, `${file} could write the step's outputs`);
      assert.match(text, /^PATH=/m, `${file} still has a PATH`);
    }
    // The runner learns the secret from ::add-mask:: (which is how masking works); nowhere else.
    const log = (goRun.stdout + commandRun.stdout)
      .split('\n')
      .filter(l => !l.startsWith(`::add-mask::${password}`))
      .join('\n');
    assert.ok(!log.includes(password), 'the password is not in the log');
  });
});

describe('hardening: a full disk', () => {
  it('a 20 MiB tmpfs as output ends in one sentence and leaves nothing there', async t => {
    const mnt = await tempDir('tmpfs-');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt]);
    if (mounted.status !== 0) {
      t.skip(`mount refused here (${(mounted.stderr?.toString() || mounted.error?.message || '').trim()}); this test needs root and a kernel that allows tmpfs mounts`);
      return;
    }
    try {
      const dir = await copyExample();
      const toml = await readFile(path.join(dir, 'buildpack.toml'), 'utf8');
      await writeFile(path.join(dir, 'buildpack.toml'), toml.replace('"README.md",', '"README.md", "payload.bin",'));
      execFileSync('head', ['-c', String(40 * 1024 * 1024), '/dev/urandom'], {stdio: ['ignore', (await import('node:fs')).openSync(path.join(dir, 'payload.bin'), 'w'), 'inherit']});
      const run = await runAction({path: dir, version: VERSION, architectures: 'amd64', output: path.join(mnt, 'out')});
      assertOneSentence(run, new RegExp(`Could not write ${mnt.replace(/[.]/g, '\\.')}/out/\\.multiarch-staging-[0-9a-f-]+/\\S+: no space left on the device \\(ENOSPC\\); free space there`));
      assert.deepEqual(await readdir(mnt), [], 'nothing partial left on the disk');
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

describe('hardening: cancelled runs', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  /** Running, not merely a zombie that nobody reaped yet (PID 1 of a container may not). */
  const alive = async (pid: number): Promise<boolean> => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat !== '' && !/^\d+ \(.*\) Z /.test(stat);
  };

  it('SIGTERM while packaging stops the build, removes the work and staging folders, and writes nothing', async () => {
    const pids = await tempDir('pids-');
    const runnerTemp = await tempDir('cancel-temp-');
    const output = path.join(runnerTemp, 'out');
    const started = Date.now();
    const run = await runAction(
      {path: EXAMPLE_BUILDPACK, version: VERSION, build: 'command', 'build-command': `sleep 60 & echo $! > "${pids}/$TARGET_ARCH.pid"; wait`, output, tags: `${registry.host}/cancel/term:${VERSION}`, 'insecure-registries': registry.host},
      {runnerTemp, interrupt: {signal: 'SIGTERM', when: async () => (await readdir(pids)).length === 2}}
    );
    assertOneSentence(run, /The run was cancelled \(SIGTERM\): child processes were stopped and the staging and work folders removed/);
    assert.ok(Date.now() - started < 30_000);
    for (const file of await readdir(pids)) {
      const pid = Number(await readFile(path.join(pids, file), 'utf8'));
      await new Promise(resolve => setTimeout(resolve, 200));
      assert.equal(await alive(pid), false, `the build's child ${pid} was stopped`);
    }
    assert.deepEqual(await leftovers(runnerTemp, output), []);
    assert.equal(existsSync(output), false, 'no output');
    assert.deepEqual(await registry.catalog(), []);
  });

  it('SIGINT while publishing writes no tag and leaves nothing; a re-run gives the clean digest', async () => {
    const clean = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output: path.join(await tempDir('clean-'), 'out')});
    assert.equal(clean.code, 0, clean.stdout);
    let uploading = false;
    const front = await startFront(registry.url, req => {
      if (req.method === 'PUT' && req.url.includes('/blobs/uploads/')) {
        uploading = true;
        return {status: 202, trickleMs: 60_000, body: ' '.repeat(10)};
      }
      return undefined;
    });
    const runnerTemp = await tempDir('cancel-temp-');
    const output = path.join(runnerTemp, 'out');
    try {
      const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output, tags: `${front.host}/cancel/int:${VERSION}`, 'insecure-registries': front.host}, {runnerTemp, interrupt: {signal: 'SIGINT', when: () => uploading}});
      assertOneSentence(run, /The run was cancelled \(SIGINT\)/);
      assert.deepEqual(await registry.tags('cancel/int'), [], 'no tag');
      assert.deepEqual(await leftovers(runnerTemp, output), []);
      assert.equal(existsSync(output), false, 'no output');
    } finally {
      await front.stop();
    }
    const again = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output, tags: `${registry.host}/cancel/int:${VERSION}`, 'insecure-registries': registry.host}, {runnerTemp});
    assert.equal(again.code, 0, again.stdout);
    assert.equal(again.outputs.digest, clean.outputs.digest);
    assert.deepEqual(await registry.tags('cancel/int'), [VERSION]);
  });
});

describe('hardening: files as users have them', () => {
  it('packages a buildpack.toml with CRLF line endings and a BOM, keeping both in the shipped file', async () => {
    const dir = await copyExample();
    const file = path.join(dir, 'buildpack.toml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, `\uFEFF${original.replace(/\n/g, '\r\n')}`);
    const output = path.join(await tempDir('crlf-'), 'out');
    const run = await runAction({path: dir, version: '1.2.3', output, architectures: 'amd64'});
    assert.equal(run.code, 0, run.stdout);
    const rootfs = await unpackPlatform(output, '1.2.3', 'amd64');
    const shipped = await readFile(path.join(rootfs, 'cnb', 'buildpacks', 'examples_hello', '1.2.3', 'buildpack.toml'), 'utf8');
    assert.ok(shipped.startsWith('\uFEFF'), 'BOM kept');
    assert.match(shipped, /version = "1\.2\.3"/);
    assert.ok(!/[^\r]\n/.test(shipped), 'CRLF kept');
    assert.equal(shipped, `\uFEFF${original.replace('version = "{{ .version }}"', 'version = "1.2.3"').replace(/\n/g, '\r\n')}`);
  });

  it('tool output holding workflow commands is printed, and acts as none', async () => {
    const dir = await copyExample();
    const output = path.join(await tempDir('poison-log-'), 'out');
    const run = await runAction({
      path: dir,
      version: VERSION,
      architectures: 'amd64',
      output,
      build: 'command',
      'build-command': `printf "building\\n::warning::from the build\\n  ::set-output name=digest::evil\\n"; ${SCRIPTS}`
    });
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /::warning::from the build/, 'printed');
    assert.deepEqual(
      runnerCommands(run.stdout).filter(c => c.command === 'warning' || c.command === 'set-output'),
      []
    );
  });

  it('an unreadable file in the buildpack is one sentence naming it', async t => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root, to run the action as another user who cannot read the file');
      return;
    }
    const base = await tempDir('unreadable-');
    await chmod(base, 0o755);
    const dir = path.join(base, 'bp');
    await mkdir(path.join(dir, 'bin'), {recursive: true});
    await writeFile(path.join(dir, 'buildpack.toml'), 'api = "0.10"\n[buildpack]\nid = "a/b"\nversion = "1.0.0"\n');
    for (const f of ['detect', 'build']) {
      await writeFile(path.join(dir, 'bin', f), '#!/bin/sh\n');
      await chmod(path.join(dir, 'bin', f), 0o755);
    }
    await writeFile(path.join(dir, 'secret.txt'), 'x');
    await chmod(path.join(dir, 'secret.txt'), 0o000);
    const runnerTemp = path.join(base, 'temp');
    await mkdir(runnerTemp, {mode: 0o777});
    await chmod(runnerTemp, 0o777);
    const run = await runAction({path: dir, output: path.join(runnerTemp, 'out'), architectures: 'amd64'}, {runnerTemp, user: {uid: 65534, gid: 65534}});
    assertOneSentence(run, new RegExp(`Could not read ${dir.replace(/[.]/g, '\\.')}/secret\\.txt: permission denied \\(EACCES\\); let the runner's user read it`));
    await rm(base, {recursive: true, force: true});
  });
});

describe("hardening: outputs that are not the action's", () => {
  it('refuses an output holding oci-layout and foreign files, deleting nothing', async () => {
    const output = await tempDir('foreign-out-');
    await writeFile(path.join(output, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(path.join(output, 'notes.txt'), 'mine');
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output});
    assertOneSentence(run, /which holds files this action did not write there \("notes\.txt", "oci-layout"\); nothing was deleted/);
    assert.deepEqual((await readdir(output)).sort(), ['notes.txt', 'oci-layout']);
    assert.equal(await readFile(path.join(output, 'notes.txt'), 'utf8'), 'mine');
  });

  it('replaces its own earlier layout, and refuses it once someone added a file', async () => {
    const output = path.join(await tempDir('own-out-'), 'out');
    const first = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output, architectures: 'amd64'});
    assert.equal(first.code, 0, first.stdout);
    const second = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output, architectures: 'amd64'});
    assert.equal(second.code, 0, second.stdout);
    assert.equal(second.outputs.digest, first.outputs.digest);
    assert.deepEqual(
      (await readdir(output)).filter(n => n.startsWith('.multiarch-') && n !== '.multiarch-buildpack-output.json'),
      [],
      'no staging left'
    );
    await writeFile(path.join(output, 'added.txt'), 'x');
    const third = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output, architectures: 'amd64'});
    assertOneSentence(third, /holds files this action did not write there \("added\.txt"\)/);
    assert.ok(existsSync(path.join(output, 'index.json')), 'the layout is intact');
  });

  it('refuses RUNNER_TEMP itself as output', async () => {
    const runnerTemp = await tempDir('temp-as-out-');
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output: runnerTemp}, {runnerTemp});
    assertOneSentence(run, /which holds RUNNER_TEMP \(.*\), where the action keeps its work folders/);
  });
});
