/**
 * Digests pinned across changes to the packaging code: a fixture made here from nothing but
 * bytes (no Go build, whose output moves with the toolchain), holding every shape the tar writer
 * treats differently: a thousand small files read straight into chunks, files across the
 * small-file and chunk sizes, empty files and directories, symlinks, hard links, names USTAR
 * splits, names only PAX can hold, non-ASCII names, executables. The digests were taken with the
 * bundle before the many-files work (commit 5167943); a change to how layers are written that
 * changes a byte fails here.
 */
import assert from 'node:assert/strict';
import {readdir} from 'node:fs/promises';
import {execOk} from '../helpers/exec.js';
import path from 'node:path';
import {before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {tempDir} from '../helpers/fixtures.js';
import {pinFixture} from '../helpers/pin-fixture.js';

const PINNED = {
  index: 'sha256:434b6de7c6b8511a8dc8ad98b924ece352d03677db64fea2441569ea4e3d6262',
  'linux/amd64': 'sha256:e6c067957c17f6940a56098a75a7842e5402e8f0334ee151f0451ac272f953fb',
  'linux/arm64': 'sha256:34b1a3a0d29e9002697cc90eb726b08bbcca5b4b072d9caebd338880f11afc12'
};

describe('digests pinned across packaging changes', () => {
  let run: ActionRun;
  before(async () => {
    const dir = await pinFixture();
    run = await runAction({path: dir, output: path.join(await tempDir('digest-pin-out-'), 'out')});
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });

  it('packages the fixture into exactly the pinned index and manifests', () => {
    const manifests = JSON.parse(run.outputs.manifests) as {platform: {os: string; architecture: string}; digest: string}[];
    assert.deepEqual({index: run.outputs.digest, ...Object.fromEntries(manifests.map(m => [`${m.platform.os}/${m.platform.architecture}`, m.digest]))}, PINNED);
  });

  it('prints nothing on stderr (no V8 flag warning, no stray output)', () => {
    assert.equal(run.stderr, '');
  });

  it('the fixture exercises what it claims: PAX and split names, hard links, files past the small-file and chunk sizes', async () => {
    const layout = (JSON.parse(run.outputs.metadata) as {layout: string}).layout;
    const blobs = path.join(layout, 'blobs', 'sha256');
    const sizes = await Promise.all((await readdir(blobs)).map(async name => ({name, size: (await import('node:fs/promises')).stat(path.join(blobs, name)).then(s => s.size)})));
    const layers: string[] = [];
    for (const b of sizes) if ((await b.size) > 100_000) layers.push(b.name);
    assert.equal(layers.length, 2, 'one layer per platform');
    const listing = execOk('tar', ['-tvzf', path.join(blobs, layers[0])]);
    const has = (pattern: RegExp, what: string): void => assert.ok(pattern.test(listing), what);
    has(/^h.* \/cnb\/buildpacks\/pin_fixture\/1\.2\.3\/vendor\/d09\/hard-link-to-f2\.txt link to \/?cnb\/buildpacks\/pin_fixture\/1\.2\.3\/vendor\/d02\/f0002\.txt$/m, 'a hard link to the first name');
    has(new RegExp(`/${'x'.repeat(120)}/${'y'.repeat(150)}\\.txt$`, 'm'), 'a name only PAX holds');
    has(/(long-directory-name\/){5}file-with-a-long-name\.txt$/m, 'a name USTAR splits');
    has(/ 3145851 .*over-a-chunk\.bin$/m, 'a file over a chunk');
    has(/ 262145 .*just-over-small\.bin$/m, 'a file just over the small-file size');
    has(/ 262144 .*small-limit\.bin$/m, 'a file at the small-file size');
    has(/caf\u00e9-\u00f1-\u65e5\u672c\.txt$/m, 'a non-ASCII name');
    has(/^l.*\/vendor\/edge\/link-to-f1 -> \.\.\/d01\/f0001\.txt$/m, 'a symlink');
    has(/^d.*\/vendor\/edge\/empty-dir$/m, 'an empty directory');
  });
});
