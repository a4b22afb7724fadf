/**
 * Compiling and assembling a buildpack, in process: the go build commands for cmd/<name> layouts
 * (with a fake runner, and a tiny Go module really cross-compiled for amd64 and arm64),
 * metadata.pre-package, the platform tree checks (entry points, ELF architecture on disk and in
 * the layer writer's inspector), the native packager's images (nativeImages,
 * warnArchlessDependencies), and the pack packager (packageWithPack with the stand-in jam and
 * pack, packImages importing .cnb files written by writeCnb).
 */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {createReadStream} from 'node:fs';
import {chmod, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {createGunzip} from 'node:zlib';
import {extract} from 'tar-stream';
import {nativeImages, warnArchlessDependencies} from '../../src/assemble/native.js';
import {packImages, packageWithPack, type PackOutput} from '../../src/assemble/pack.js';
import {parseDescriptor, type BuildpackDescriptor} from '../../src/buildpack/descriptor.js';
import {scanTree, type SourceEntry} from '../../src/buildpack/files.js';
import {platformTree, type TreeEntry} from '../../src/buildpack/tree.js';
import type {PlatformBuild} from '../../src/compile/compile.js';
import {goBuild, type GoCommand} from '../../src/compile/go.js';
import {runPrePackage} from '../../src/compile/prepackage.js';
import {binaryCheck, verifyPlatformTree, type ElfIdentities} from '../../src/compile/verify.js';
import {writeCnb} from '../../src/image/cnb.js';
import {writeBuildpackImage, type PlatformImage} from '../../src/image/image.js';
import {BlobStore} from '../../src/oci/store.js';
import type {TarEntry} from '../../src/oci/tar.js';
import {MediaType} from '../../src/oci/types.js';
import type {ReleasePlan} from '../../src/plan/plan.js';
import {parseElfIdentity, readElfIdentity} from '../../src/platform/elf.js';
import {parsePlatform, type Platform} from '../../src/platform/platform.js';
import {UserError} from '../../src/util/errors.js';
import {childEnv, runProcess, type ProcessOptions, type ProcessResult, type ProcessRunner} from '../../src/util/process.js';
import {ROOT} from '../helpers/paths.js';
import {captured, withEnv} from '../helpers/capture.js';

const amd64 = parsePlatform('amd64', 'test');
const arm64 = parsePlatform('arm64', 'test');
const armv7 = parsePlatform('linux/arm/v7', 'test');
const JAM = path.join(ROOT, '__tests__', 'fixtures', 'standins', 'jam.mjs');
const PACK = path.join(ROOT, '__tests__', 'fixtures', 'standins', 'pack.mjs');
const CREATED = '1980-01-01T00:00:01Z';

/** An ELF header: class 64 (or 32), little-endian (or big), e_machine at byte 18. */
function elfHeader(machine: number, options: {bits?: 32 | 64; bigEndian?: boolean; size?: number} = {}): Buffer {
  const b = Buffer.alloc(options.size ?? 64);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = options.bits === 32 ? 1 : 2;
  b[5] = options.bigEndian ? 2 : 1;
  b[6] = 1;
  if (options.bigEndian) b.writeUInt16BE(machine, 18);
  else b.writeUInt16LE(machine, 18);
  return b;
}
const X86_64 = 0x3e;
const AARCH64 = 0xb7;

/** What a fake runner was asked to run. */
interface Call {
  command: string;
  args: string[];
  options?: ProcessOptions;
}

function fakeRunner(results: Partial<ProcessResult>[] = []): {run: ProcessRunner; calls: Call[]} {
  const calls: Call[] = [];
  const run: ProcessRunner = async (command, args, options) => {
    calls.push({command, args, options});
    return {exitCode: 0, stdout: '', stderr: '', ...results[calls.length - 1]};
  };
  return {run, calls};
}

/** A layer blob's entries by name: type, mode, link target and contents. */
async function readLayer(store: BlobStore, digest: string): Promise<Map<string, {type: string; mode: number; linkname?: string; body: Buffer}>> {
  const entries = new Map<string, {type: string; mode: number; linkname?: string; body: Buffer}>();
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      entries.set(entry.header.name, {type: entry.header.type ?? '', mode: entry.header.mode ?? 0, linkname: entry.header.linkname ?? undefined, body: Buffer.concat(chunks)});
    }
  })();
  createReadStream(store.blobPath(digest)).pipe(createGunzip()).pipe(ex);
  await done;
  return entries;
}

async function readJson<T>(store: BlobStore, digest: string): Promise<T> {
  return JSON.parse(await readFile(store.blobPath(digest), 'utf8')) as T;
}

function releasePlan(platforms: Platform[], extra: Partial<ReleasePlan> = {}): ReleasePlan {
  return {version: '1.2.3', platforms, experimental: [], annotations: {}, annotationSet: {items: []}, created: CREATED, format: 'oci', tags: [], tools: [], ...extra};
}

let work: string;
before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'assemble-test-'));
});
after(async () => {
  await rm(work, {recursive: true, force: true});
});

describe('go build (compile/go.ts)', () => {
  it('runs one static, trimmed go build per program in the module, with GOOS/GOARCH/GOARM and no action inputs in the environment', async () => {
    const out = path.join(work, 'go-fake', 'roots', 'linux', 'arm', 'v7');
    const {run, calls} = fakeRunner();
    const commands: GoCommand[] = [
      {name: 'helper', pkg: './cmd/helper'},
      {name: 'run', pkg: './cmd/run'}
    ];
    const results = await withEnv({INPUT_REGISTRY_PASSWORD: 'not-for-go', GOARCH: 'mips'}, () => goBuild('/src/bp', armv7, out, commands, run));
    assert.equal(results.length, 2);
    assert.deepEqual(
      calls.map(c => [c.command, c.args, c.options?.cwd]),
      [
        ['go', ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', path.join(out, 'bin', 'helper'), './cmd/helper'], '/src/bp'],
        ['go', ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', path.join(out, 'bin', 'run'), './cmd/run'], '/src/bp']
      ]
    );
    const env = calls[0].options?.env ?? {};
    assert.equal(env.GOOS, 'linux');
    assert.equal(env.GOARCH, 'arm', "the platform's GOARCH wins over the step's");
    assert.equal(env.GOARM, '7');
    assert.equal(env.CGO_ENABLED, '0');
    assert.equal(env.INPUT_REGISTRY_PASSWORD, undefined);
    assert.equal(env.PATH, process.env.PATH, 'the rest of the environment is kept (go needs PATH, HOME)');
    // run is the entry point: bin/detect and bin/build link to it; helper gets no links.
    assert.deepEqual((await readdir(path.join(out, 'bin'))).sort(), ['build', 'detect']);
    assert.equal(await readlink(path.join(out, 'bin', 'detect')), 'run');
    assert.equal(await readlink(path.join(out, 'bin', 'build')), 'run');
  });

  it('stops at the first failing program and makes no links', async () => {
    const out = path.join(work, 'go-fail');
    const {run, calls} = fakeRunner([{exitCode: 2, stderr: 'cmd/a/main.go:3: syntax error'}]);
    const results = await goBuild(
      '/src',
      amd64,
      out,
      [
        {name: 'a', pkg: './cmd/a'},
        {name: 'run', pkg: './cmd/run'}
      ],
      run
    );
    assert.equal(calls.length, 1, 'the second program is not built');
    assert.deepEqual(
      results.map(r => r.exitCode),
      [2]
    );
    assert.deepEqual(await readdir(path.join(out, 'bin')), []);
  });

  it("links the entry points as Paketo's scripts do: libpak's main, an extension's generate, and never over a program of that name", async () => {
    const links = async (name: string, commands: string[], kind: 'buildpack' | 'extension' = 'buildpack'): Promise<string[]> => {
      const out = path.join(work, 'go-links', name);
      const {run} = fakeRunner();
      await goBuild(
        '/src',
        amd64,
        out,
        commands.map(c => ({name: c, pkg: `./cmd/${c}`})),
        run,
        kind
      );
      const bin = path.join(out, 'bin');
      return Promise.all((await readdir(bin)).sort().map(async f => `${f}->${await readlink(path.join(bin, f))}`));
    };
    assert.deepEqual(await links('libpak', ['main']), ['build->main', 'detect->main']);
    assert.deepEqual(await links('extension', ['run'], 'extension'), ['detect->run', 'generate->run']);
    assert.deepEqual(await links('both', ['main', 'run']), ['build->run', 'detect->run'], 'run wins over main');
    assert.deepEqual(await links('own-detect', ['detect', 'run']), ['build->run'], 'a program named detect is bin/detect itself');
    assert.deepEqual(await links('none', ['tool']), [], 'no run or main: nothing to link');
  });

  it('really cross-compiles a tiny module for amd64 and arm64 with the installed go', {skip: process.arch !== 'x64' && 'runs the amd64 build natively'}, async () => {
    const mod = path.join(work, 'gomod');
    await mkdir(path.join(mod, 'cmd', 'run'), {recursive: true});
    await writeFile(path.join(mod, 'go.mod'), 'module example.com/tiny\n\ngo 1.19\n');
    await writeFile(path.join(mod, 'cmd', 'run', 'main.go'), 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"path/filepath"\n\t"runtime"\n)\n\nfunc main() { fmt.Println(filepath.Base(os.Args[0]), runtime.GOARCH) }\n');
    for (const [platform, machine] of [
      [amd64, X86_64],
      [arm64, AARCH64]
    ] as const) {
      const out = path.join(work, 'gobuilt', platform.architecture);
      const results = await goBuild(mod, platform, out, [{name: 'run', pkg: './cmd/run'}], runProcess);
      assert.deepEqual(
        results.map(r => r.exitCode),
        [0],
        results.map(r => r.stderr).join('')
      );
      const identity = await readElfIdentity(path.join(out, 'bin', 'run'));
      assert.deepEqual(identity, {machine, bits: 64, littleEndian: true}, platform.architecture);
      assert.equal(await readlink(path.join(out, 'bin', 'detect')), 'run');
    }
    // The links work as the lifecycle uses them: argv[0] says the phase.
    assert.equal(execFileSync(path.join(work, 'gobuilt', 'amd64', 'bin', 'build'), {encoding: 'utf8'}), 'build amd64\n');
    assert.equal(execFileSync('qemu-aarch64-static', [path.join(work, 'gobuilt', 'arm64', 'bin', 'detect')], {encoding: 'utf8'}), 'detect arm64\n');
  });
});

describe('metadata.pre-package (compile/prepackage.ts)', () => {
  const withPrePackage = (command: string): BuildpackDescriptor => parseDescriptor(`[buildpack]\nid = "acme/pre"\n[metadata]\npre-package = ${JSON.stringify(command)}\n`, '/bp/buildpack.toml');

  it('does nothing without pre-package', async () => {
    const {run, calls} = fakeRunner();
    await runPrePackage(parseDescriptor('[buildpack]\nid = "acme/none"\n', 'f'), '/bp', run);
    assert.equal(calls.length, 0);
  });

  it('runs the command with bash -e -o pipefail in the buildpack directory, inputs withheld, its output logged', async () => {
    const {run, calls} = fakeRunner([{stdout: 'built linux/amd64\n', stderr: 'a warning\n'}]);
    const {out} = await withEnv({INPUT_PASSWORD: 'pre-package-must-not-see-this'}, () => captured(() => runPrePackage(withPrePackage('./scripts/build.sh --target linux/amd64'), '/bp', run)));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].command, 'bash');
    assert.deepEqual(calls[0].args, ['-e', '-o', 'pipefail', '-c', './scripts/build.sh --target linux/amd64']);
    assert.equal(calls[0].options?.cwd, '/bp');
    assert.equal(calls[0].options?.env?.INPUT_PASSWORD, undefined);
    assert.ok(calls[0].options?.env?.PATH, 'PATH is passed on');
    assert.match(out, /built linux\/amd64\na warning/);
  });

  it('turns a failure into a UserError naming the command, file, exit code and last line, the whole output in details', async () => {
    const {run} = fakeRunner([{exitCode: 3, stdout: 'step 1\nstep 2\n', stderr: 'error: no such target\n\n'}]);
    await assert.rejects(
      () => runPrePackage(withPrePackage('make package'), '/bp', run),
      (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.equal(e.message, 'metadata.pre-package "make package" in /bp/buildpack.toml failed (exit code 3): error: no such target; fix it and run again.');
        assert.equal(e.details, 'step 1\nstep 2\nerror: no such target');
        return true;
      }
    );
    const {run: silent} = fakeRunner([{exitCode: 1}]);
    await assert.rejects(() => runPrePackage(withPrePackage('false'), '/bp', silent), /failed \(exit code 1\): no output;/);
  });

  it('really runs under bash: files land in the buildpack directory, and a failing pipeline fails', async () => {
    const dir = await mkdtemp(path.join(work, 'pre-'));
    await captured(() => runPrePackage(withPrePackage('mkdir -p bin && echo generated > bin/marker'), dir, runProcess));
    assert.equal(await readFile(path.join(dir, 'bin', 'marker'), 'utf8'), 'generated\n');
    await assert.rejects(
      () => runPrePackage(withPrePackage('echo before; false | cat; echo never'), dir, runProcess),
      (e: unknown) => e instanceof UserError && /exit code 1/.test(e.message) && e.details === 'before'
    );
  });
});

describe('platform tree checks (compile/verify.ts)', () => {
  let files: string;
  let x86: string;
  let aarch64: string;
  let script: string;
  before(async () => {
    files = await mkdtemp(path.join(work, 'verify-'));
    x86 = path.join(files, 'x86');
    aarch64 = path.join(files, 'aarch64');
    script = path.join(files, 'script');
    await writeFile(x86, elfHeader(X86_64));
    await writeFile(aarch64, elfHeader(AARCH64));
    await writeFile(script, '#!/bin/sh\necho this is a script, not a binary\n');
  });
  const file = (p: string, source: string, size = 64): TreeEntry => ({path: p, type: 'file', source, executable: true, size});
  const link = (p: string, target: string): TreeEntry => ({path: p, type: 'symlink', target});

  it('requires bin/detect and bin/build (a directory does not count), except for a composite', () => {
    assert.throws(
      () => verifyPlatformTree([file('bin/build', script)], arm64, false),
      (e: unknown) => e instanceof UserError && /^The linux\/arm64 buildpack has no bin\/detect; put the binaries in linux\/arm64\/bin or bin\//.test(e.message)
    );
    assert.throws(() => verifyPlatformTree([link('bin/detect', 'run'), {path: 'bin/build', type: 'directory'}], amd64, false), /The linux\/amd64 buildpack has no bin\/build;/);
    verifyPlatformTree([link('bin/detect', 'run'), link('bin/build', 'run'), file('bin/run', script)], amd64, false);
    verifyPlatformTree([{path: 'README.md', type: 'file', content: Buffer.from('x'), executable: false, size: 1}], amd64, true);
  });

  it('refuses an ELF file for another architecture, accepts the right one and non-ELF files', () => {
    const tree = (run: string): TreeEntry[] => [link('bin/detect', 'run'), link('bin/build', 'run'), file('bin/run', run), file('bin/helper.sh', script)];
    verifyPlatformTree(tree(aarch64), arm64, false);
    verifyPlatformTree(tree(x86), amd64, false);
    assert.throws(
      () => verifyPlatformTree(tree(x86), arm64, false),
      (e: unknown) => e instanceof UserError && e.message === 'bin/run in the linux/arm64 buildpack is built for x86-64, not aarch64; build it for arm64 (GOARCH=arm64) or move it under linux/arm64/bin.'
    );
    assert.throws(() => verifyPlatformTree(tree(aarch64), amd64, false), /bin\/run in the linux\/amd64 buildpack is built for aarch64, not x86-64/);
    // binaries: false leaves the ELF check to the layer writer.
    verifyPlatformTree(tree(x86), arm64, false, {binaries: false});
    // A file under 20 bytes is not read at all (its source does not even exist).
    verifyPlatformTree([...tree(aarch64), file('bin/tiny', path.join(files, 'does-not-exist'), 19)], arm64, false);
    assert.throws(() => verifyPlatformTree([...tree(aarch64), file('bin/gone', path.join(files, 'does-not-exist'), 20)], arm64, false), /ENOENT/);
  });

  it('reads each source once, through the identities map shared between platforms', () => {
    const identities: ElfIdentities = new Map();
    const tree: TreeEntry[] = [link('bin/detect', 'run'), link('bin/build', 'run'), file('bin/run', aarch64), file('lib/also-run', aarch64), file('bin/helper.sh', script)];
    verifyPlatformTree(tree, arm64, false, {identities});
    assert.deepEqual([...identities.entries()].sort(), [
      [aarch64, {machine: AARCH64, bits: 64, littleEndian: true}],
      [script, undefined]
    ]);
    // What is in the map is believed: a source that does not exist, said to be x86-64, is refused without a read.
    const phantom = path.join(files, 'phantom');
    identities.set(phantom, {machine: X86_64, bits: 64, littleEndian: true});
    assert.throws(() => verifyPlatformTree([...tree, file('bin/phantom', phantom)], arm64, false, {identities}), /bin\/phantom in the linux\/arm64 buildpack is built for x86-64/);
  });

  it("binaryCheck inspects the layer writer's first bytes: wrong e_machine, word size or byte order refused, named under the root", () => {
    const root = '/cnb/buildpacks/acme_bp/1.2.3';
    const entry = (name: string): TarEntry => ({name, type: 'file', mode: 0o755, mtime: new Date(0)});
    const inspect = binaryCheck(arm64, root);
    const header = elfHeader(AARCH64);
    inspect(entry(`${root}/bin/run`), header, 0, header.length);
    const wrong = elfHeader(X86_64);
    assert.throws(
      () => inspect(entry(`${root}/bin/run`), wrong, 0, wrong.length),
      (e: unknown) => e instanceof UserError && e.message.startsWith('bin/run in the linux/arm64 buildpack is built for x86-64, not aarch64;')
    );
    assert.throws(() => inspect(entry('/elsewhere/tool'), wrong, 0, wrong.length), /^UserError: \/elsewhere\/tool in the linux\/arm64/, 'a name outside the root is kept whole');
    const arm32 = elfHeader(AARCH64, {bits: 32});
    assert.throws(() => inspect(entry(`${root}/bin/run`), arm32, 0, arm32.length), /built for machine 0xb7 \(32-bit\), not aarch64/);
    // At an offset inside a larger chunk, as the writer hands out pooled buffers.
    const chunk = Buffer.concat([Buffer.alloc(100, 0xff), wrong]);
    assert.throws(() => inspect(entry(`${root}/x`), chunk, 100, wrong.length), /x in the linux\/arm64 buildpack is built for x86-64/);
    inspect(entry(`${root}/x`), chunk, 100, 19); // too short to be an ELF header
    inspect(entry(`${root}/x`), chunk, 0, 64); // not an ELF file
    const s390x = parsePlatform('s390x', 'test');
    binaryCheck(s390x, root)(entry(`${root}/bin/run`), elfHeader(0x16, {bigEndian: true}), 0, 64);
    assert.deepEqual(parseElfIdentity(elfHeader(0x16, {bigEndian: true})), {machine: 0x16, bits: 64, littleEndian: false});
    assert.throws(() => binaryCheck(s390x, root)(entry(`${root}/bin/run`), elfHeader(0x16), 0, 64), /built for machine 0x16 \(64-bit\), not IBM S\/390/, 'little-endian s390x is not s390x');
  });
});

describe('native packager (assemble/native.ts)', () => {
  const SHA_AMD = 'a'.repeat(64);
  const SHA_ARM = 'b'.repeat(64);
  const TOML = `api = "0.10"
[buildpack]
id = "acme/native"
version = "{{ .version }}"

[metadata]
include-files = ["README.md", "buildpack.toml", "bin/run", "bin/detect", "bin/build"]

[[metadata.dependencies]]
id = "tool"
version = "1.0"
arch = "amd64"
uri = "https://example.com/tool-amd64.tgz"
checksum = "sha256:${SHA_AMD}"

[[metadata.dependencies]]
id = "tool"
version = "1.0"
arch = "arm64"
uri = "https://example.com/tool-arm64.tgz"
checksum = "sha256:${SHA_ARM}"

[[targets]]
os = "linux"
arch = "amd64"

[[targets]]
os = "linux"
arch = "arm64"
`;
  let bp: string;
  let source: SourceEntry[];
  let descriptor: BuildpackDescriptor;
  const built = new Map<string, SourceEntry[]>();
  before(async () => {
    bp = await mkdtemp(path.join(work, 'native-bp-'));
    await writeFile(path.join(bp, 'buildpack.toml'), TOML);
    await writeFile(path.join(bp, 'README.md'), '# native\n');
    await writeFile(path.join(bp, 'NOTES.txt'), 'not in include-files\n');
    await mkdir(path.join(bp, 'cmd', 'run'), {recursive: true});
    await writeFile(path.join(bp, 'go.mod'), 'module example.com/native\n\ngo 1.19\n');
    await writeFile(path.join(bp, 'cmd', 'run', 'main.go'), 'package main\n\nfunc main() {}\n');
    descriptor = parseDescriptor(TOML, path.join(bp, 'buildpack.toml'));
    const roots = await mkdtemp(path.join(work, 'native-roots-'));
    for (const platform of [amd64, arm64]) {
      const out = path.join(roots, 'linux', platform.architecture);
      const results = await goBuild(bp, platform, out, [{name: 'run', pkg: './cmd/run'}], runProcess);
      assert.equal(results[0].exitCode, 0, results[0].stderr);
      built.set(platform.architecture, scanTree(out, [], false));
    }
    source = scanTree(bp);
  });
  const builds = (...platforms: [Platform, string][]): PlatformBuild[] => platforms.map(([platform, arch]) => ({platform, built: built.get(arch) ?? [], log: ''}));

  it('warns about dependencies without arch only when several platforms are built', async () => {
    const text = '[buildpack]\nid = "acme/deps"\n[[metadata.dependencies]]\nid = "ca-certs"\nversion = "2"\n[[metadata.dependencies]]\nid = "node"\narch = "arm64"\n[[metadata.dependencies]]\nid = "scripts"\n';
    const archless = parseDescriptor(text, 'bp/buildpack.toml');
    const {out} = await captured(() => warnArchlessDependencies(archless, releasePlan([amd64, arm64])));
    assert.match(out, /^::warning::bp\/buildpack\.toml lists dependencies without arch, which go into every platform's image \(packit reads a missing arch as amd64\): ca-certs 2, scripts; add arch = "amd64" or "arm64"/m);
    assert.doesNotMatch(out, /node/);
    assert.equal((await captured(() => warnArchlessDependencies(archless, releasePlan([arm64])))).out, '', 'one platform: nothing to mix up');
    assert.equal((await captured(() => warnArchlessDependencies(descriptor, releasePlan([amd64, arm64])))).out, '', 'every dependency has an arch');
  });

  it("writes each platform's image: its own binaries, include-files only, buildpack.toml with the version and only its dependencies", async () => {
    const store = new BlobStore(await mkdtemp(path.join(work, 'native-store-')));
    const write = nativeImages(descriptor, releasePlan([amd64, arm64]), source, builds([amd64, 'amd64'], [arm64, 'arm64']));
    const images = await write(store);
    assert.deepEqual(
      images.map(i => i.platform.architecture),
      ['amd64', 'arm64']
    );
    const root = '/cnb/buildpacks/acme_native/1.2.3';
    for (const [image, machine, other] of [
      [images[0], X86_64, 'arm64'],
      [images[1], AARCH64, 'amd64']
    ] as const) {
      const config = await readJson<{architecture: string; os: string; rootfs: {diff_ids: string[]}}>(store, image.config.digest);
      assert.equal(config.architecture, image.platform.architecture);
      assert.equal(config.os, 'linux');
      assert.deepEqual(config.rootfs.diff_ids, image.diffIDs);
      assert.equal(image.layers.length, 1);
      const layer = await readLayer(store, image.layers[0].digest);
      assert.deepEqual([...layer.keys()], ['/cnb/buildpacks/acme_native', root, `${root}/README.md`, `${root}/bin`, `${root}/bin/build`, `${root}/bin/detect`, `${root}/bin/run`, `${root}/buildpack.toml`]);
      assert.equal(layer.get(`${root}/bin/detect`)?.linkname, 'run');
      assert.equal(layer.get(`${root}/bin/run`)?.mode, 0o755);
      assert.equal(parseElfIdentity(layer.get(`${root}/bin/run`)?.body ?? Buffer.alloc(0))?.machine, machine);
      const toml = layer.get(`${root}/buildpack.toml`)?.body.toString() ?? '';
      assert.match(toml, /^version = "1\.2\.3"$/m);
      assert.match(toml, new RegExp(`tool-${image.platform.architecture}\\.tgz`));
      assert.doesNotMatch(toml, new RegExp(`tool-${other}`));
    }
  });

  it('checks entry points before anything is written, before include-files; an image extension needs none', async () => {
    const noBinaries: PlatformBuild[] = [{platform: amd64, built: [], log: ''}];
    assert.throws(() => nativeImages(descriptor, releasePlan([amd64]), source, noBinaries), /^UserError: The linux\/amd64 buildpack has no bin\/detect/);
    const missing = parseDescriptor(TOML.replace('"README.md",', '"README.md", "LICENSE",'), descriptor.file);
    assert.throws(() => nativeImages(missing, releasePlan([amd64]), source, noBinaries), /has no bin\/detect/, 'the missing entry point is reported, not the include-files entry');
    assert.throws(
      () => nativeImages(missing, releasePlan([amd64, arm64]), source, builds([amd64, 'amd64'], [arm64, 'arm64'])),
      (e: unknown) => e instanceof UserError && e.message.startsWith(`${descriptor.file} include-files lists "LICENSE", which is not in the buildpack directory`)
    );

    const extension = parseDescriptor('api = "0.10"\n[extension]\nid = "acme/ext"\nversion = "0.0.1"\n', path.join(bp, 'extension.toml'), 'extension');
    const ext = await mkdtemp(path.join(work, 'native-ext-'));
    await writeFile(path.join(ext, 'README.md'), 'an extension with no programs yet\n');
    const store = new BlobStore(await mkdtemp(path.join(work, 'native-store-')));
    const [image] = await nativeImages(extension, releasePlan([amd64], {version: '0.0.1'}), scanTree(ext), noBinaries)(store);
    const layer = await readLayer(store, image.layers[0].digest);
    assert.deepEqual([...layer.keys()], ['/cnb/extensions/acme_ext', '/cnb/extensions/acme_ext/0.0.1', '/cnb/extensions/acme_ext/0.0.1/README.md', '/cnb/extensions/acme_ext/0.0.1/extension.toml']);
  });

  it("refuses, while writing the layer, a binary built for another platform than the image's", async () => {
    const store = new BlobStore(await mkdtemp(path.join(work, 'native-store-')));
    const write = nativeImages(descriptor, releasePlan([amd64, arm64]), source, builds([amd64, 'amd64'], [arm64, 'amd64']));
    await assert.rejects(
      () => write(store),
      (e: unknown) => e instanceof UserError && e.message === 'bin/run in the linux/arm64 buildpack is built for x86-64, not aarch64; build it for arm64 (GOARCH=arm64) or move it under linux/arm64/bin.'
    );
  });

  it("offline: bundles each platform's dependencies and points their uris into the image; manifest annotations per platform", async () => {
    const deps = await mkdtemp(path.join(work, 'native-deps-'));
    await writeFile(path.join(deps, 'amd'), 'amd64 tool bytes');
    await writeFile(path.join(deps, 'arm'), 'arm64 tool bytes!');
    const bundled = new Map([
      [SHA_AMD, {sha256: SHA_AMD, file: path.join(deps, 'amd'), size: 16}],
      [SHA_ARM, {sha256: SHA_ARM, file: path.join(deps, 'arm'), size: 17}]
    ]);
    const annotationSet = {
      items: [
        {level: 'manifest' as const, key: 'org.example.all', value: 'yes'},
        {level: 'manifest' as const, platform: arm64, key: 'org.example.arm', value: 'only arm64'},
        {level: 'index' as const, key: 'org.example.index', value: 'not on manifests'}
      ]
    };
    const store = new BlobStore(await mkdtemp(path.join(work, 'native-store-')));
    const images = await nativeImages(descriptor, releasePlan([amd64, arm64], {annotationSet}), source, builds([amd64, 'amd64'], [arm64, 'arm64']), bundled)(store);
    const root = '/cnb/buildpacks/acme_native/1.2.3';
    const arm = await readLayer(store, images[1].layers[0].digest);
    assert.equal(arm.get(`${root}/dependencies/${SHA_ARM}/tool-arm64.tgz`)?.body.toString(), 'arm64 tool bytes!');
    assert.equal(arm.get(`${root}/dependencies/${SHA_ARM}/tool-arm64.tgz`)?.mode, 0o644);
    assert.ok(![...arm.keys()].some(k => k.includes(SHA_AMD)), 'no amd64 dependency in the arm64 image');
    assert.match(arm.get(`${root}/buildpack.toml`)?.body.toString() ?? '', new RegExp(`^uri = "file:///dependencies/${SHA_ARM}/tool-arm64\\.tgz"$`, 'm'));
    const manifests = await Promise.all(images.map(i => readJson<{annotations?: Record<string, string>}>(store, i.manifest.digest)));
    assert.deepEqual(
      manifests.map(m => m.annotations),
      [{'org.example.all': 'yes'}, {'org.example.all': 'yes', 'org.example.arm': 'only arm64'}]
    );
  });
});

describe('pack packager (assemble/pack.ts)', () => {
  const BUILDPACK_TOML = `api = "0.10"
[buildpack]
id = "acme/packed"
name = "Acme Packed"
version = "{{ .version }}"

[metadata]
include-files = ["README.md", "buildpack.toml", "linux/amd64/bin/run", "linux/amd64/bin/detect", "linux/amd64/bin/build", "linux/arm64/bin/run", "linux/arm64/bin/detect", "linux/arm64/bin/build"]

[[targets]]
os = "linux"
arch = "amd64"

[[targets]]
os = "linux"
arch = "arm64"
`;

  /** A buildpack in Paketo's layout, scripts per arch (or an ELF file for `elf`'s arch). */
  async function writeBuildpack(options: {elf?: {arch: string; machine: number}} = {}): Promise<{dir: string; descriptor: BuildpackDescriptor}> {
    const dir = await mkdtemp(path.join(work, 'pack-bp-'));
    await writeFile(path.join(dir, 'buildpack.toml'), BUILDPACK_TOML);
    await writeFile(path.join(dir, 'README.md'), '# packed\n');
    for (const arch of ['amd64', 'arm64']) {
      const bin = path.join(dir, 'linux', arch, 'bin');
      await mkdir(bin, {recursive: true});
      await writeFile(path.join(bin, 'run'), options.elf?.arch === arch ? elfHeader(options.elf.machine) : `#!/bin/sh\necho "packed on ${arch}"\n`);
      await chmod(path.join(bin, 'run'), 0o755);
      await symlink('run', path.join(bin, 'detect'));
      await symlink('run', path.join(bin, 'build'));
    }
    return {dir, descriptor: parseDescriptor(BUILDPACK_TOML, path.join(dir, 'buildpack.toml'))};
  }

  /** Runs the stand-in jam and pack scripts with this Node, recording each call. */
  function standins(env: Record<string, string> = {}, overrides: {pack?: ProcessRunner} = {}): {run: ProcessRunner; calls: Call[]} {
    const calls: Call[] = [];
    const run: ProcessRunner = async (command, args, options) => {
      calls.push({command, args, options});
      if (command === PACK && overrides.pack) return overrides.pack(command, args, options);
      return runProcess(process.execPath, [command, ...args], {...options, env: {...childEnv({}), ...env}});
    };
    return {run, calls};
  }

  it('imports each .cnb (as writeCnb writes them) into the store: platform corrected, layers kept, format and annotations applied', async () => {
    const dir = await mkdtemp(path.join(work, 'cnb-src-'));
    await mkdir(path.join(dir, 'bin'));
    await writeFile(path.join(dir, 'bin', 'detect'), '#!/bin/sh\nexit 0\n');
    await writeFile(path.join(dir, 'bin', 'build'), '#!/bin/sh\nexit 0\n');
    const descriptor = parseDescriptor('api = "0.10"\n[buildpack]\nid = "acme/cnb"\nversion = "2.0.0"\n', 'buildpack.toml');
    const from = new BlobStore(await mkdtemp(path.join(work, 'cnb-from-')));
    const written: PlatformImage[] = [];
    const outputs: PackOutput[] = [];
    for (const [platform, claimed] of [
      [amd64, amd64],
      [armv7, amd64] // a .cnb whose config says amd64, as pack wrote for every target
    ] as const) {
      const tree = platformTree({source: scanTree(dir), built: [], descriptor: descriptor.text, platform: claimed});
      const image = await writeBuildpackImage({descriptor, version: '2.0.0', platform: claimed, tree, created: CREATED, format: 'oci'}, from);
      const cnb = path.join(work, `cnb-${platform.architecture}.cnb`);
      await writeCnb(cnb, image, from);
      written.push(image);
      outputs.push({platform, cnb});
    }
    const into = new BlobStore(await mkdtemp(path.join(work, 'cnb-into-')));
    const scratch = await mkdtemp(path.join(work, 'cnb-scratch-'));
    const {value: images, out} = await captured(() => packImages(outputs, 'docker', scratch, p => ({'org.example.arch': p.architecture}))(into));
    assert.match(out, /cnb-arm\.cnb: pack wrote linux\/amd64 in the config; corrected to linux\/arm\/v7, which it was built for\./);
    assert.doesNotMatch(out, /cnb-amd64\.cnb: pack wrote/);
    assert.deepEqual(
      images.map(i => i.platform),
      [amd64, armv7]
    );
    for (const [i, image] of images.entries()) {
      assert.equal(image.manifest.mediaType, MediaType.DockerManifest);
      assert.deepEqual(
        image.layers.map(l => [l.digest, l.mediaType]),
        written[i].layers.map(l => [l.digest, MediaType.DockerLayer])
      );
      assert.deepEqual(image.diffIDs, written[i].diffIDs);
      assert.ok(await into.has(image.layers[0].digest));
      const manifest = await readJson<{annotations: Record<string, string>; config: {mediaType: string}}>(into, image.manifest.digest);
      assert.deepEqual(manifest.annotations, {'org.example.arch': image.platform.architecture});
      assert.equal(manifest.config.mediaType, MediaType.DockerConfig);
    }
    const arm = await readJson<{architecture: string; variant?: string; os: string}>(into, images[1].config.digest);
    assert.deepEqual([arm.os, arm.architecture, arm.variant], ['linux', 'arm', 'v7']);
    assert.deepEqual(await readdir(scratch), [], 'the extracted .cnb files are removed');
  });

  it('packageWithPack: jam pack once, then pack buildpack package per target, each .cnb imported as its platform', async () => {
    const {dir, descriptor} = await writeBuildpack();
    const jobWork = await mkdtemp(path.join(work, 'pack-work-'));
    const {run, calls} = standins({STANDIN_PACK_ARCH: 'amd64'});
    const {value: outputs, out} = await captured(() => packageWithPack({dir, descriptor, version: '1.2.3', platforms: [amd64, arm64], work: jobWork, jam: JAM, pack: PACK, offline: true, run}));
    const root = path.join(jobWork, 'jam', 'root');
    assert.deepEqual(
      calls.map(c => [c.command, c.args, c.options?.cwd]),
      [
        [JAM, ['pack', '--buildpack', path.join(dir, 'buildpack.toml'), '--version', '1.2.3', '--output', path.join(jobWork, 'jam', 'buildpack.tgz'), '--offline'], dir],
        [PACK, ['buildpack', 'package', path.join(jobWork, 'pack', 'linux-amd64', 'buildpack.cnb'), '--path', root, '--format', 'file', '--target', 'linux/amd64'], root],
        [PACK, ['buildpack', 'package', path.join(jobWork, 'pack', 'linux-arm64', 'buildpack.cnb'), '--path', root, '--format', 'file', '--target', 'linux/arm64'], root]
      ]
    );
    assert.deepEqual(outputs, [
      {platform: amd64, cnb: path.join(jobWork, 'pack', 'linux-amd64', 'buildpack.cnb')},
      {platform: arm64, cnb: path.join(jobWork, 'pack', 'linux-arm64', 'buildpack.cnb')}
    ]);
    assert.match(out, /Packing Acme Packed 1\.2\.3\.\.\./, "jam's output is logged");
    assert.match(out, /^linux\/arm64: buildpack\.cnb$/m);

    const store = new BlobStore(await mkdtemp(path.join(work, 'pack-store-')));
    const {value: images, out: importLog} = await captured(() => packImages(outputs, 'oci', jobWork)(store));
    assert.match(importLog, /buildpack\.cnb: pack wrote linux\/amd64 in the config; corrected to linux\/arm64/);
    const config = await readJson<{architecture: string}>(store, images[1].config.digest);
    assert.equal(config.architecture, 'arm64');
    const layer = await readLayer(store, images[1].layers[0].digest);
    assert.equal(layer.get('/cnb/buildpacks/acme_packed/1.2.3/bin/run')?.body.toString(), '#!/bin/sh\necho "packed on arm64"\n', "the arm64 image holds the arm64 root's files");
    assert.equal(layer.get('/cnb/buildpacks/acme_packed/1.2.3/bin/detect')?.linkname, 'run');
  });

  it('packageWithPack checks, for linux/arm/v7, the files pack packages: linux/arm when jam laid out no variant folder', async () => {
    const {dir} = await writeBuildpack();
    // One target, linux/arm/v7, whose files are where jam puts them: linux/arm.
    const toml = `${BUILDPACK_TOML.slice(0, BUILDPACK_TOML.indexOf('[metadata]'))}[metadata]\ninclude-files = ["buildpack.toml", "linux/arm/bin/run", "linux/arm/bin/detect", "linux/arm/bin/build"]\n\n[[targets]]\nos = "linux"\narch = "arm"\nvariant = "v7"\n`;
    await writeFile(path.join(dir, 'buildpack.toml'), toml);
    const descriptor = parseDescriptor(toml, path.join(dir, 'buildpack.toml'));
    const bin = path.join(dir, 'linux', 'arm', 'bin');
    await mkdir(bin, {recursive: true});
    await writeFile(path.join(bin, 'run'), '#!/bin/sh\necho "packed on arm"\n');
    await chmod(path.join(bin, 'run'), 0o755);
    await symlink('run', path.join(bin, 'detect'));
    await symlink('run', path.join(bin, 'build'));
    const jobWork = await mkdtemp(path.join(work, 'pack-work-'));
    const armv7 = {os: 'linux', architecture: 'arm', variant: 'v7'};
    const {run} = standins();
    const {value: outputs} = await captured(() => packageWithPack({dir, descriptor, version: '1.0.0', platforms: [armv7], work: jobWork, jam: JAM, pack: PACK, offline: false, run}));
    assert.deepEqual(
      outputs.map(o => o.platform),
      [armv7]
    );
  });

  it('packageWithPack refuses a wrong-architecture binary before pack packages that platform', async () => {
    const {dir, descriptor} = await writeBuildpack({elf: {arch: 'arm64', machine: X86_64}});
    const jobWork = await mkdtemp(path.join(work, 'pack-work-'));
    const {run, calls} = standins();
    await assert.rejects(
      () => captured(() => packageWithPack({dir, descriptor, version: '1.0.0', platforms: [amd64, arm64], work: jobWork, jam: JAM, pack: PACK, offline: false, run})),
      (e: unknown) => e instanceof UserError && e.message.startsWith('bin/run in the linux/arm64 buildpack is built for x86-64, not aarch64;')
    );
    assert.deepEqual(
      calls.map(c => c.args.at(-1)),
      [path.join(jobWork, 'jam', 'buildpack.tgz'), 'linux/amd64'],
      'no --offline; amd64 was packaged, arm64 never reached pack'
    );
  });

  it("packageWithPack reports a tool's failure with its output in details, and a pack that writes no .cnb", async () => {
    const {dir, descriptor} = await writeBuildpack();
    await rm(path.join(dir, 'linux', 'arm64', 'bin', 'run'));
    const {run} = standins();
    const failWork = await mkdtemp(path.join(work, 'pack-work-'));
    await assert.rejects(
      () => packageWithPack({dir, descriptor, version: '1.0.0', platforms: [amd64, arm64], work: failWork, jam: JAM, pack: PACK, offline: false, run}),
      (e: unknown) =>
        e instanceof UserError &&
        /^jam pack failed \(exit code 1\): Error: failed to bundle files: error stating included file: lstat \S+linux\/arm64\/bin\/run: no such file or directory; fix the buildpack or the tool and run again\.$/.test(e.message) &&
        /Error: failed to bundle files/.test(e.details ?? '')
    );

    const whole = await writeBuildpack();
    const {run: noCnb} = standins({}, {pack: async () => ({exitCode: 0, stdout: 'done, honestly\n', stderr: ''})});
    const jobWork = await mkdtemp(path.join(work, 'pack-work-'));
    await assert.rejects(
      () => captured(() => packageWithPack({dir: whole.dir, descriptor: whole.descriptor, version: '1.0.0', platforms: [amd64], work: jobWork, jam: JAM, pack: PACK, offline: false, run: noCnb})),
      (e: unknown) => e instanceof UserError && e.message === `pack buildpack package for linux/amd64 wrote 0 .cnb files in ${path.join(jobWork, 'pack', 'linux-amd64')}, not one; check the pack version.`
    );
  });
});
