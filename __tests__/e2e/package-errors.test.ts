/**
 * Every bad input ends with exit code 1, one ::error:: sentence naming what is wrong and how to
 * fix it, no stack trace, and `output` as it was (absent, or an earlier layout unchanged).
 */
import assert from 'node:assert/strict';
import {copyFile, mkdir, readFile, rm, symlink, writeFile} from 'node:fs/promises';
import {existsSync} from 'node:fs';
import path from 'node:path';
import {before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_BUILDPACK} from '../helpers/paths.js';

function assertCleanFailure(run: ActionRun, message: RegExp): void {
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.equal(run.errors.length, 1, `exactly one ::error:: line:\n${run.stdout}`);
  assert.match(run.errors[0], message);
  // One sentence, ending with a full stop, with no stack trace anywhere.
  assert.match(run.errors[0], /^::error(?: [^:\n]*)?::[^\n]+\.$/);
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+:\d+:\d+/);
  assert.doesNotMatch(run.errors[0], /Internal error/);
}

async function setVersionLine(dir: string, from: RegExp, to: string): Promise<void> {
  const file = path.join(dir, 'buildpack.toml');
  await writeFile(file, (await readFile(file, 'utf8')).replace(from, to));
}

describe('bad input', () => {
  let previous: string;
  let previousIndex: string;

  before(async () => {
    // An output holding an earlier good layout: failures must leave it exactly as it was.
    previous = path.join(await tempDir('previous-'), 'out');
    const ok = await runAction({path: EXAMPLE_BUILDPACK, version: '0.0.1', output: previous});
    assert.equal(ok.code, 0, ok.stdout);
    previousIndex = await readFile(path.join(previous, 'index.json'), 'utf8');
  });

  async function fails(inputs: Record<string, string>, message: RegExp): Promise<void> {
    const output = path.join(await tempDir('out-'), 'out');
    const run = await runAction({version: '1.0.0', output, ...inputs});
    assertCleanFailure(run, message);
    assert.equal(existsSync(output), false, 'no partial output');
    const overPrevious = await runAction({version: '1.0.0', ...inputs, output: previous});
    assertCleanFailure(overPrevious, message);
    assert.equal(await readFile(path.join(previous, 'index.json'), 'utf8'), previousIndex, 'earlier output untouched');
    assert.deepEqual((await import('node:fs')).readdirSync(path.dirname(previous)), ['out'], 'no staging left behind');
  }

  it('no buildpack.toml', async () => {
    await fails({path: await tempDir('empty-')}, /No buildpack\.toml or extension\.toml in .+; set the "path" input to the buildpack's \(or image extension's\) directory\./);
  });

  it('malformed TOML, with line and column', async () => {
    const dir = await copyExample();
    await setVersionLine(dir, /version = "\{\{ \.version \}\}"/, 'version = "{{ .version }}');
    await fails({path: dir}, /buildpack\.toml is not valid TOML at line 8, column \d+ \(.+\); fix the syntax there\./);
  });

  it('an unknown architecture', async () => {
    await fails({path: EXAMPLE_BUILDPACK, architectures: 'amd64,sparc'}, /Input "architectures" lists "sparc", which is not a known architecture; use one of amd64, arm64/);
  });

  it('a duplicate architecture', async () => {
    await fails({path: EXAMPLE_BUILDPACK, architectures: 'arm64,aarch64'}, /Input "architectures" lists linux\/arm64 twice/);
  });

  it('no binaries for a target', async () => {
    await fails({path: EXAMPLE_BUILDPACK, build: 'none'}, /The linux\/amd64 buildpack has no bin\/detect; put the binaries in linux\/amd64\/bin/);
  });

  it('nothing to build', async () => {
    const dir = await tempDir('nothing-');
    await writeFile(path.join(dir, 'buildpack.toml'), 'api = "0.10"\n[buildpack]\nid = "a/b"\n');
    await fails({path: dir}, /Found nothing to build .+ for linux\/amd64, linux\/arm64: .*set build: command/);
  });

  it('a wrong-architecture binary, named', async () => {
    const dir = await tempDir('wrong-arch-');
    await writeFile(path.join(dir, 'buildpack.toml'), 'api = "0.10"\n[buildpack]\nid = "a/b"\n');
    for (const arch of ['amd64', 'arm64']) {
      await mkdir(path.join(dir, 'linux', arch, 'bin'), {recursive: true});
      // /bin/true is an x86-64 ELF here: right for amd64, wrong for arm64.
      await copyFile('/bin/true', path.join(dir, 'linux', arch, 'bin', 'run'));
      await symlink('run', path.join(dir, 'linux', arch, 'bin', 'detect'));
      await symlink('run', path.join(dir, 'linux', arch, 'bin', 'build'));
    }
    await fails({path: dir}, /bin\/run in the linux\/arm64 buildpack is built for x86-64, not aarch64; build it for arm64/);
  });

  it('a version that is not a valid tag', async () => {
    await fails({path: EXAMPLE_BUILDPACK, version: '1.2.3+build.5'}, /Input "version" is "1\.2\.3\+build\.5", which cannot be an image tag/);
  });

  it('a template version with no version input', async () => {
    const output = path.join(await tempDir('out-'), 'out');
    const run = await runAction({path: EXAMPLE_BUILDPACK, output});
    assertCleanFailure(run, /has the version "\{\{ \.version \}\}", which is not a real version; set the "version" input/);
  });

  it('an include-files entry that leaves the buildpack directory', async () => {
    const dir = await copyExample();
    await setVersionLine(dir, /"README\.md",/, '"README.md", "../secret.txt",');
    await fails({path: dir}, /include-files lists "..\/secret\.txt" leaves the buildpack directory; use a path inside it\./);
  });

  it('a symlink that leaves the buildpack directory', async () => {
    const dir = await copyExample();
    await setVersionLine(dir, /"README\.md",/, '"README.md", "LINK",');
    await symlink('../../../etc/passwd', path.join(dir, 'LINK'));
    await fails({path: dir}, /The symlink LINK -> ..\/..\/..\/etc\/passwd in the linux\/amd64 buildpack points outside the buildpack directory/);
  });

  it('an include-files entry that matches nothing', async () => {
    const dir = await copyExample();
    await setVersionLine(dir, /"README\.md",/, '"README.md", "LICENSE",');
    await fails({path: dir}, /include-files lists "LICENSE", which is not in the buildpack directory and was not produced by the build/);
  });

  it('a failing build command, with its last line', async () => {
    await fails(
      {path: EXAMPLE_BUILDPACK, build: 'command', 'build-command': 'echo "compiling for $TARGET_ARCH"; echo "boom: no compiler" >&2; exit 3'},
      /build-command failed for linux\/amd64 \(exit code 3\): boom: no compiler; fix the build/
    );
  });

  it('an output that is not a layout', async () => {
    const dir = await tempDir('not-layout-');
    await writeFile(path.join(dir, 'precious.txt'), 'keep me');
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: '1.0.0', output: dir});
    assertCleanFailure(run, /Input "output" is .+, which holds files this action did not write there \("precious\.txt"\); nothing was deleted/);
    assert.equal(await readFile(path.join(dir, 'precious.txt'), 'utf8'), 'keep me');
    await rm(dir, {recursive: true});
  });

  it('shows a stack trace only with debug logging on', async () => {
    const run = await runAction({path: EXAMPLE_BUILDPACK, architectures: 'sparc'}, {env: {RUNNER_DEBUG: '1'}});
    assert.equal(run.code, 1);
    assert.match(run.stdout, /::debug::UserError: .*%0A\s+at /);
  });
});
