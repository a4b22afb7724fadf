/**
 * Smoke tests, in process: runBuildpack running a platform's bin/detect and bin/build (or an
 * image extension's bin/generate) as the lifecycle would, with only PATH, HOME and CNB_*
 * variables, natively or under qemu-user (the example buildpack's Go program built for amd64
 * and arm64), and smokeTest over subjects whose layers are in a blob store: the built-in run
 * from the image's own files, smoke-command, and how failures of required and experimental
 * platforms end.
 */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {parseDescriptor, type BuildpackDescriptor} from '../../src/buildpack/descriptor.js';
import {scanTree} from '../../src/buildpack/files.js';
import {platformTree} from '../../src/buildpack/tree.js';
import {renderDescriptor} from '../../src/buildpack/version.js';
import {writeBuildpackImage} from '../../src/image/image.js';
import {BlobStore} from '../../src/oci/store.js';
import {formatPlatform, parsePlatform, platformSlug, type Platform} from '../../src/platform/platform.js';
import {runBuildpack, runnerPlatform} from '../../src/smoke/runner.js';
import {smokeTest, type SmokeOptions, type SmokeSubject} from '../../src/smoke/smoke-test.js';
import {UserError} from '../../src/util/errors.js';
import {registerSecret} from '../../src/util/secrets.js';
import {EXAMPLE_APP, EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {captured, withEnv} from '../helpers/capture.js';

const amd64 = parsePlatform('amd64', 'test');
const arm64 = parsePlatform('arm64', 'test');
const armv7 = parsePlatform('linux/arm/v7', 'test');
const onAmd64 = process.arch === 'x64';
const CREATED = '1980-01-01T00:00:01Z';

/** The KEY=VALUE lines of `env` output. */
function envLines(output: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1], m[2]);
  }
  return vars;
}

let work: string;
before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'smoke-test-'));
});
after(async () => {
  await rm(work, {recursive: true, force: true});
});

/** A module directory (inside a parent of its own) with these bin/ files, executable unless `mode` says otherwise. */
async function moduleWith(files: Record<string, string | Buffer>, mode = 0o755): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(work, 'module-')), 'bp');
  await mkdir(path.join(dir, 'bin'), {recursive: true});
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, 'bin', name), content);
    await chmod(path.join(dir, 'bin', name), mode);
  }
  return dir;
}

async function app(withHello = true): Promise<string> {
  const dir = await mkdtemp(path.join(work, 'app-'));
  if (withHello) await writeFile(path.join(dir, 'hello.txt'), 'Hello from the smoke test\n');
  return dir;
}

/** A phase script that prints its arguments, working directory and environment. */
const REPORT = (phase: string, exit = 0): string => `#!/bin/sh\necho "${phase} args: $*"\necho "${phase} cwd: $(pwd)"\nenv\nexit ${exit}\n`;

/** The example's cmd/run, built with go for each architecture. */
const exampleBinaries = new Map<string, string>();
async function exampleBinary(arch: string): Promise<string> {
  const known = exampleBinaries.get(arch);
  if (known) return known;
  const out = path.join(work, `example-${arch}`, 'run');
  execFileSync('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', out, './cmd/run'], {cwd: EXAMPLE_BUILDPACK, env: {...process.env, GOOS: 'linux', GOARCH: arch, CGO_ENABLED: '0'}, stdio: 'pipe'});
  exampleBinaries.set(arch, out);
  return out;
}

/** A module directory holding the example's binary for `arch` as bin/run, bin/detect and bin/build linked to it. */
async function exampleModule(arch: string): Promise<string> {
  const dir = await moduleWith({run: await readFile(await exampleBinary(arch))});
  await symlink('run', path.join(dir, 'bin', 'detect'));
  await symlink('run', path.join(dir, 'bin', 'build'));
  return dir;
}

describe('runBuildpack (smoke/runner.ts)', () => {
  it("runnerPlatform names the runner's platform in OCI terms", () => {
    const expected: Record<string, string> = {x64: 'linux/amd64', arm64: 'linux/arm64', ia32: 'linux/386', arm: 'linux/arm/v7'};
    assert.equal(formatPlatform(runnerPlatform()), expected[process.arch] ?? `linux/${process.arch}`);
  });

  it('runs bin/detect then bin/build with the directories as arguments, in the app, with only PATH, HOME and CNB_* variables', async () => {
    const moduleDir = await moduleWith({detect: REPORT('detect'), build: REPORT('build')});
    const appDir = await app();
    const secret = 'smoke-registered-secret-value';
    await captured(() => registerSecret(secret));
    const run = await withEnv({INPUT_REGISTRY_PASSWORD: 'input-password-value', SMOKE_HOLDS_SECRET: `x${secret}x`, SMOKE_ORDINARY: 'ordinary', GITHUB_TOKEN: 'ghs_tokenvalue'}, () => runBuildpack(moduleDir, appDir, amd64, '0.10'));
    assert.equal(run.passed, true, run.detect.output);
    assert.equal(run.summary, 'detect and build passed (Buildpack API 0.10)');
    assert.equal(run.phase, 'build');
    const detect = envLines(run.detect.output);
    const build = envLines(run.build?.output ?? '');
    for (const vars of [detect, build]) {
      const names = [...vars.keys()].filter(k => k !== 'PWD'); // the shell's own
      assert.deepEqual(
        names.filter(k => k !== 'PATH' && k !== 'HOME' && !k.startsWith('CNB_')),
        [],
        `only PATH, HOME and CNB_*: ${names.join(' ')}`
      );
      assert.deepEqual(names.filter(k => k.startsWith('CNB_')).sort(), ['CNB_BP_PLAN_PATH', 'CNB_BUILDPACK_DIR', 'CNB_BUILD_PLAN_PATH', 'CNB_LAYERS_DIR', 'CNB_PLATFORM_DIR', 'CNB_TARGET_ARCH', 'CNB_TARGET_OS']);
      assert.equal(vars.get('PATH'), process.env.PATH);
      assert.equal(vars.get('CNB_BUILDPACK_DIR'), moduleDir);
      assert.equal(vars.get('CNB_TARGET_OS'), 'linux');
      assert.equal(vars.get('CNB_TARGET_ARCH'), 'amd64');
    }
    for (const output of [run.detect.output, run.build?.output ?? '']) {
      for (const hidden of ['input-password-value', secret, 'ordinary', 'ghs_tokenvalue']) assert.ok(!output.includes(hidden), `${hidden} reached the buildpack`);
    }
    // Buildpack API < 0.8 reads the directories from the arguments; the app is the working directory.
    assert.match(run.detect.output, new RegExp(`^detect args: ${detect.get('CNB_PLATFORM_DIR')} ${detect.get('CNB_BUILD_PLAN_PATH')}$`, 'm'));
    assert.match(run.build?.output ?? '', new RegExp(`^build args: ${build.get('CNB_LAYERS_DIR')} ${build.get('CNB_PLATFORM_DIR')} ${build.get('CNB_BP_PLAN_PATH')}$`, 'm'));
    assert.match(run.detect.output, new RegExp(`^detect cwd: ${appDir}$`, 'm'));
    assert.equal(path.dirname(detect.get('CNB_PLATFORM_DIR') ?? ''), path.dirname(detect.get('CNB_LAYERS_DIR') ?? ''), 'one scratch directory per run');
    assert.equal(path.dirname(path.dirname(detect.get('CNB_LAYERS_DIR') ?? '')), path.dirname(moduleDir), "made next to the module's directory");
    assert.equal(await readFile(detect.get('CNB_BP_PLAN_PATH') ?? '', 'utf8'), '', 'an empty buildpack plan');
  });

  it('runs a script as it is for another platform, and says the arm variant', async () => {
    const moduleDir = await moduleWith({detect: REPORT('detect'), build: REPORT('build')});
    const run = await runBuildpack(moduleDir, await app(), armv7, '0.9');
    assert.equal(run.passed, true, run.detect.output);
    const vars = envLines(run.build?.output ?? '');
    assert.equal(vars.get('CNB_TARGET_ARCH'), 'arm');
    assert.equal(vars.get('CNB_TARGET_ARCH_VARIANT'), 'v7');
    assert.equal(envLines(run.detect.output).get('CNB_TARGET_ARCH_VARIANT'), 'v7');
  });

  it('stops after a detect that does not pass (100) or fails; reports a failing build', async () => {
    const marker = path.join(work, 'build-ran');
    const build = `#!/bin/sh\ntouch ${marker}\n`;
    const notDetected = await runBuildpack(await moduleWith({detect: '#!/bin/sh\necho "nothing for me"\nexit 100\n', build}), await app(), amd64, '0.10');
    assert.deepEqual(
      {passed: notDetected.passed, summary: notDetected.summary, build: notDetected.build, exit: notDetected.detect.exitCode, output: notDetected.detect.output},
      {passed: false, summary: 'detection did not pass (exit 100) for the app (Buildpack API 0.10)', build: undefined, exit: 100, output: 'nothing for me\n'}
    );
    const crashed = await runBuildpack(await moduleWith({detect: '#!/bin/sh\necho "boom" >&2\nexit 3\n', build}), await app(), amd64, '0.7');
    assert.equal(crashed.summary, 'bin/detect failed (exit 3) for the app (Buildpack API 0.7)');
    assert.equal(crashed.detect.output, 'boom\n', 'stderr is in the output');
    await assert.rejects(readFile(marker), 'bin/build never ran');

    const failedBuild = await runBuildpack(await moduleWith({detect: '#!/bin/sh\nexit 0\n', build: '#!/bin/sh\necho half\necho "no compiler" >&2\nexit 7\n'}), await app(), amd64, '0.10');
    assert.equal(failedBuild.passed, false);
    assert.equal(failedBuild.summary, 'bin/build failed (exit 7)');
    assert.equal(failedBuild.build?.exitCode, 7);
    assert.equal(failedBuild.build?.output, 'half\nno compiler\n');
  });

  it('says which signal stopped a crashing phase', async () => {
    const segv = await runBuildpack(await moduleWith({detect: '#!/bin/sh\nkill -SEGV $$\n', build: '#!/bin/sh\n'}), await app(), amd64, '0.10');
    assert.equal(segv.summary, 'bin/detect failed (exit 139, stopped by SIGSEGV) for the app (Buildpack API 0.10)');
    assert.deepEqual([segv.detect.exitCode, segv.detect.signal], [139, 'SIGSEGV']);
  });

  it('an image extension: missing bin/detect and bin/generate pass as the lifecycle treats them; generate gets the output directory', async () => {
    const empty = await moduleWith({});
    const skipped = await runBuildpack(empty, await app(), amd64, '0.10', 'extension');
    assert.equal(skipped.passed, true);
    assert.equal(skipped.phase, 'generate');
    assert.equal(skipped.summary, 'detect and generate passed (Buildpack API 0.10)');
    assert.match(skipped.detect.output, /not present/);

    const ext = await moduleWith({generate: REPORT('generate')});
    const run = await runBuildpack(ext, await app(), amd64, '0.10', 'extension');
    assert.equal(run.passed, true, run.build?.output);
    const vars = envLines(run.build?.output ?? '');
    assert.equal(vars.get('CNB_EXTENSION_DIR'), ext);
    assert.ok(vars.get('CNB_OUTPUT_DIR'));
    assert.equal(vars.get('CNB_BUILDPACK_DIR'), undefined);
    assert.equal(vars.get('CNB_LAYERS_DIR'), undefined);
    assert.match(run.build?.output ?? '', new RegExp(`^generate args: ${vars.get('CNB_OUTPUT_DIR')} ${vars.get('CNB_PLATFORM_DIR')} ${vars.get('CNB_BP_PLAN_PATH')}$`, 'm'));

    const failing = await runBuildpack(await moduleWith({generate: '#!/bin/sh\nexit 5\n'}), await app(), amd64, '0.10', 'extension');
    assert.equal(failing.summary, 'bin/generate failed (exit 5)');
  });

  it('refuses a buildpack whose bin/detect is missing or not executable', async () => {
    const missing = await moduleWith({build: '#!/bin/sh\n'});
    const appDir = await app();
    await assert.rejects(
      () => runBuildpack(missing, appDir, amd64, '0.10'),
      (e: unknown) => e instanceof UserError && e.message === `${path.join(missing, 'bin', 'detect')} is missing or not executable, so the linux/amd64 buildpack cannot be smoke-tested; check bin/ in the image.`
    );
    const notExecutable = await moduleWith({detect: '#!/bin/sh\n', build: '#!/bin/sh\n'}, 0o644);
    await assert.rejects(() => runBuildpack(notExecutable, appDir, arm64, '0.10'), /bin\/detect is missing or not executable, so the linux\/arm64 buildpack/);
  });

  it('runs the example buildpack natively: detect and build pass, the layers are written', {skip: !onAmd64 && 'needs an amd64 runner'}, async () => {
    const moduleDir = await exampleModule('amd64');
    const run = await runBuildpack(moduleDir, EXAMPLE_APP, amd64, '0.10');
    assert.equal(run.passed, true, `${run.detect.output}${run.build?.output}`);
    assert.equal(run.detect.output, 'hello-buildpack: detected hello.txt (linux/amd64)\n');
    assert.match(run.build?.output ?? '', /^hello-buildpack: built for linux\/amd64: /);
    const [scratch] = (await readdir(path.dirname(moduleDir))).filter(f => f.startsWith('smoke-'));
    const layers = path.join(path.dirname(moduleDir), scratch, 'layers');
    assert.match(await readFile(path.join(layers, 'launch.toml'), 'utf8'), /type = "web"/);
    assert.equal(await readFile(path.join(layers, 'hello', 'greeting.txt'), 'utf8'), `${(await readFile(path.join(EXAMPLE_APP, 'hello.txt'), 'utf8')).trim()}\n`);

    const noHello = await runBuildpack(moduleDir, await app(false), amd64, '0.10');
    assert.equal(noHello.detect.exitCode, 100);
    assert.match(noHello.detect.output, /no hello\.txt in the app, skipping \(linux\/amd64\)/);
  });

  it('runs an arm64 binary under qemu-aarch64-static, through the bin/detect link', {skip: !onAmd64 && 'needs an amd64 runner'}, async () => {
    const run = await runBuildpack(await exampleModule('arm64'), await app(), arm64, '0.10');
    assert.equal(run.passed, true, `${run.detect.output}${run.build?.output}`);
    assert.equal(run.detect.output, 'hello-buildpack: detected hello.txt (linux/arm64)\n', 'argv[0] still says detect, and the program ran as arm64');
    assert.equal(run.build?.output, 'hello-buildpack: built for linux/arm64: Hello from the smoke test\n');
  });

  it('says how to install qemu when the emulator for a foreign binary is not on PATH', {skip: !onAmd64 && 'needs an amd64 runner'}, async () => {
    const moduleDir = await exampleModule('arm64');
    const appDir = await app();
    const emptyPath = await mkdtemp(path.join(work, 'no-qemu-'));
    await assert.rejects(
      () => withEnv({PATH: emptyPath}, () => runBuildpack(moduleDir, appDir, arm64, '0.10')),
      (e: unknown) =>
        e instanceof UserError &&
        e.message ===
          'smoke-test: emulated needs qemu-aarch64-static to run the linux/arm64 binaries on this linux/amd64 runner; install qemu-user-static (apt-get install qemu-user-static) or use smoke-test: native on a linux/arm64 runner.'
    );
  });
});

describe('smokeTest (smoke/smoke-test.ts)', () => {
  const TOML = 'api = "0.10"\n[buildpack]\nid = "acme/smoke"\nversion = "{{ .version }}"\n';
  const descriptor = parseDescriptor(TOML, 'buildpack.toml');
  /** A detect that shows the buildpack's own files and the target; fails with 3 on `failOn`. */
  const DETECT = (failOn = 'none'): string =>
    `#!/bin/sh\necho "detect $CNB_TARGET_ARCH in $CNB_BUILDPACK_DIR"\ngrep '^version' "$CNB_BUILDPACK_DIR/buildpack.toml"\nif [ "$CNB_TARGET_ARCH" = "${failOn}" ]; then echo "illegal instruction on ${failOn}" >&2; exit 3; fi\n`;

  let store: BlobStore;
  before(async () => {
    store = new BlobStore(await mkdtemp(path.join(work, 'smoke-store-')));
  });

  /** Each platform's image of a module with these bin/ files (or of `dirOf(platform)`), as subjects. */
  async function subjects(platforms: Platform[], files: Record<string, string>, options: {experimental?: Platform[]; module?: BuildpackDescriptor; version?: string; dirOf?: (p: Platform) => Promise<string>} = {}): Promise<SmokeSubject[]> {
    const module = options.module ?? descriptor;
    const version = options.version ?? '1.0.0';
    const result: SmokeSubject[] = [];
    for (const platform of platforms) {
      const dir = options.dirOf ? await options.dirOf(platform) : await moduleWith(files);
      const tree = platformTree({source: scanTree(dir), built: [], descriptor: renderDescriptor(module, version), descriptorName: path.basename(module.file), platform});
      const image = await writeBuildpackImage({descriptor: module, version, platform, tree, created: CREATED, format: 'oci'}, store);
      result.push({
        platform,
        layers: image.layers,
        digest: image.manifest.digest,
        image: `/out/acme_smoke-${version}-${platformSlug(platform)}.cnb`,
        experimental: options.experimental?.some(e => e.architecture === platform.architecture) ?? false
      });
    }
    return result;
  }

  async function options(extra: Partial<SmokeOptions> = {}): Promise<SmokeOptions> {
    return {mode: 'emulated', app: await app(), id: 'acme/smoke', version: '1.0.0', api: '0.10', scratch: await mkdtemp(path.join(work, 'smoke-scratch-')), ...extra};
  }

  it("emulated: runs every platform from the image's own files, each in a log group, and cleans up", async () => {
    const subs = await subjects([amd64, arm64], {detect: DETECT(), build: '#!/bin/sh\necho "built $CNB_TARGET_ARCH"\n'});
    const opts = await options();
    const {value: results, out} = await captured(() => smokeTest(subs, store, opts));
    assert.deepEqual(results, [
      {platform: amd64, status: 'passed', experimental: false, summary: 'detect and build passed (Buildpack API 0.10)'},
      {platform: arm64, status: 'passed', experimental: false, summary: 'detect and build passed (Buildpack API 0.10)'}
    ]);
    assert.match(
      out,
      /::group::Smoke test linux\/amd64\n[\s\S]*?Running linux\/amd64 natively against [\s\S]*?bin\/detect \(exit 0\):\ndetect amd64 in \/\S+\/cnb\/buildpacks\/acme_smoke\/1\.0\.0\nversion = "1\.0\.0"\n[\s\S]*?bin\/build \(exit 0\):\nbuilt amd64\n[\s\S]*?::endgroup::/
    );
    assert.match(out, /::group::Smoke test linux\/arm64\n[\s\S]*?Running linux\/arm64 under qemu-user against [\s\S]*?detect arm64 in/);
    assert.deepEqual(await readdir(opts.scratch), [], 'the unpacked images are removed');
  });

  it("native: only the runner's platform runs, the others are skipped", async () => {
    const foreign = runnerPlatform().architecture === 'arm64' ? amd64 : arm64;
    const subs = await subjects([runnerPlatform(), foreign], {detect: DETECT(), build: '#!/bin/sh\n'});
    const {value: results, out} = await captured(async () => smokeTest(subs, store, await options({mode: 'native'})));
    assert.deepEqual(
      results.map(r => [formatPlatform(r.platform), r.status, r.summary]),
      [
        [formatPlatform(runnerPlatform()), 'passed', 'detect and build passed (Buildpack API 0.10)'],
        [formatPlatform(foreign), 'skipped', "not this runner's platform"]
      ]
    );
    assert.match(out, new RegExp(`Smoke test of ${formatPlatform(foreign)} skipped: smoke-test: native runs only the runner's own platform`));
    assert.doesNotMatch(out, new RegExp(`::group::Smoke test ${formatPlatform(foreign)}`));
  });

  it('a failing required platform is a UserError that stops the run', async () => {
    const subs = await subjects([amd64, arm64, armv7], {detect: DETECT('arm64'), build: '#!/bin/sh\n'});
    const {out} = await captured(() =>
      assert.rejects(
        async () => smokeTest(subs, store, await options()),
        (e: unknown) =>
          e instanceof UserError &&
          e.message === 'The smoke test of linux/arm64 failed: bin/detect failed (exit 3) for the app (Buildpack API 0.10); nothing was tagged, so fix the linux/arm64 buildpack (its output is above) or mark arm64 experimental.'
      )
    );
    assert.match(out, /illegal instruction on arm64/, "the failing platform's output is logged");
    assert.doesNotMatch(out, /Smoke test linux\/arm\/v7/, 'no platform after it runs');
  });

  it('a failing experimental platform is a warning, and the others go on', async () => {
    const subs = await subjects([amd64, arm64, armv7], {detect: DETECT('arm64'), build: '#!/bin/sh\n'}, {experimental: [arm64]});
    const {value: results, out} = await captured(async () => smokeTest(subs, store, await options()));
    assert.deepEqual(
      results.map(r => [r.platform.architecture, r.status, r.experimental, r.summary]),
      [
        ['amd64', 'passed', false, 'detect and build passed (Buildpack API 0.10)'],
        ['arm64', 'failed', true, 'bin/detect failed (exit 3) for the app (Buildpack API 0.10)'],
        ['arm', 'passed', false, 'detect and build passed (Buildpack API 0.10)']
      ]
    );
    assert.match(out, /::group::Smoke test linux\/arm64 \(experimental\)/);
    assert.match(out, /^::warning::The smoke test of the experimental platform linux\/arm64 failed \(bin\/detect failed \(exit 3\) for the app \(Buildpack API 0\.10\)\); publishing anyway/m);
  });

  it('smoke-command: runs per platform (native mode too) in the app with IMAGE, DIGEST and the target, inputs and secrets withheld', async () => {
    const subs = await subjects([amd64, armv7], {detect: '#!/bin/sh\nexit 1\n', build: '#!/bin/sh\n'});
    const log = path.join(work, 'smoke-command.log');
    const secret = 'smoke-command-secret-value';
    await captured(() => registerSecret(secret));
    const opts = await options({mode: 'native', command: `{ echo "@@run $(pwd)"; env; } >> ${log}`});
    const {value: results} = await withEnv({INPUT_PASSWORD: 'input-password-value', SMOKE_SECRET_VAR: secret, SMOKE_ORDINARY: 'kept'}, () => captured(() => smokeTest(subs, store, opts)));
    assert.deepEqual(
      results.map(r => [r.status, r.summary]),
      [
        ['passed', 'smoke-command passed'],
        ['passed', 'smoke-command passed']
      ],
      'the built-in run (whose detect fails) is not used'
    );
    const runs = (await readFile(log, 'utf8')).split('@@run ').filter(Boolean);
    assert.equal(runs.length, 2);
    for (const [i, text] of runs.entries()) {
      assert.ok(text.startsWith(`${opts.app}\n`), text.slice(0, 200));
      const vars = envLines(text);
      assert.equal(vars.get('IMAGE'), subs[i].image);
      assert.equal(vars.get('DIGEST'), subs[i].digest);
      assert.equal(vars.get('TARGET_OS'), 'linux');
      assert.equal(vars.get('TARGET_ARCH'), subs[i].platform.architecture);
      assert.equal(vars.get('TARGET_VARIANT'), subs[i].platform.variant ?? '');
      assert.equal(vars.get('SMOKE_ORDINARY'), 'kept', "the step's environment is passed on");
      assert.equal(vars.get('INPUT_PASSWORD'), undefined);
      assert.equal(vars.get('SMOKE_SECRET_VAR'), undefined);
      assert.ok(!text.includes(secret));
    }
  });

  it('smoke-command: a failure of a required platform names its exit code and last line', async () => {
    const subs = await subjects([amd64], {detect: '#!/bin/sh\n', build: '#!/bin/sh\n'});
    const {out} = await captured(() =>
      assert.rejects(
        async () => smokeTest(subs, store, await options({command: 'echo checking "$TARGET_ARCH"; echo "pack build failed." >&2; exit 4'})),
        (e: unknown) => e instanceof UserError && e.message.startsWith('The smoke test of linux/amd64 failed: smoke-command exited 4: pack build failed; nothing was tagged')
      )
    );
    assert.match(out, /checking amd64/);
  });

  it('the built-in run needs an app', async () => {
    const subs = await subjects([amd64], {detect: '#!/bin/sh\n', build: '#!/bin/sh\n'});
    await captured(() => assert.rejects(async () => smokeTest(subs, store, await options({app: undefined})), /smoke test without an app/));
  });

  it('an image extension is run from /cnb/extensions, bin/generate as its second phase', async () => {
    const extension = parseDescriptor('api = "0.10"\n[extension]\nid = "acme/ext"\nversion = "0.2.0"\n', 'extension.toml', 'extension');
    const subs = await subjects([amd64], {detect: '#!/bin/sh\necho "ext in $CNB_EXTENSION_DIR"\n', generate: '#!/bin/sh\necho "generating into $CNB_OUTPUT_DIR"\n'}, {module: extension, version: '0.2.0'});
    const {value: results, out} = await captured(async () => smokeTest(subs, store, await options({id: 'acme/ext', version: '0.2.0', kind: 'extension'})));
    assert.deepEqual(
      results.map(r => [r.status, r.summary]),
      [['passed', 'detect and generate passed (Buildpack API 0.10)']]
    );
    assert.match(out, /ext in \/\S+\/cnb\/extensions\/acme_ext\/0\.2\.0\n/);
    assert.match(out, /bin\/generate \(exit 0\):\ngenerating into \//);
  });

  it('the example buildpack, built for amd64 and arm64, passes natively and under qemu', {skip: !onAmd64 && 'needs an amd64 runner'}, async () => {
    const example = parseDescriptor(await readFile(path.join(EXAMPLE_BUILDPACK, 'buildpack.toml'), 'utf8'), path.join(EXAMPLE_BUILDPACK, 'buildpack.toml'));
    const subs = await subjects([amd64, arm64], {}, {module: example, version: '0.1.0', dirOf: p => exampleModule(p.architecture)});
    const {value: results, out} = await captured(async () => smokeTest(subs, store, await options({app: EXAMPLE_APP, id: example.id, version: '0.1.0'})));
    assert.deepEqual(
      results.map(r => [r.platform.architecture, r.status]),
      [
        ['amd64', 'passed'],
        ['arm64', 'passed']
      ]
    );
    assert.match(out, /hello-buildpack: detected hello\.txt \(linux\/amd64\)/);
    assert.match(out, /hello-buildpack: detected hello\.txt \(linux\/arm64\)[\s\S]*hello-buildpack: built for linux\/arm64/);
  });
});
