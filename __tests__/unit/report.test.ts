/** The job summary's wording, the failure record, the CLI's plain output and TOML line lookup. */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {parseDescriptor} from '../../src/buildpack/descriptor.js';
import {lineOf, parseToml} from '../../src/buildpack/toml.js';
import {PlainOutput} from '../../src/cli/plain-output.js';
import {RunProgress} from '../../src/report/progress.js';
import {imageSize} from '../../src/report/outputs.js';
import {formatBytes, publishedBeforeFailure, shortDigest} from '../../src/report/summary.js';
import {UserError} from '../../src/util/errors.js';
import {runProcess} from '../../src/util/process.js';
import {describeFailure, type FailureReport} from '../../src/report/failure.js';
import {mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';

describe('summary wording', () => {
  it('gives sizes readably and exactly, digests short', () => {
    assert.equal(formatBytes(404), '404 bytes');
    assert.equal(formatBytes(610142), '595.8 KiB (610142 bytes)');
    assert.equal(formatBytes(5 * 1024 * 1024 + 1), '5.00 MiB (5242881 bytes)');
    assert.equal(shortDigest(`sha256:${'ab'.repeat(32)}`), `sha256:${'ab'.repeat(6)}`);
  });
  it('counts an image as its config and layers, a layer listed twice once', () => {
    assert.equal(
      imageSize([
        {digest: 'a', size: 10},
        {digest: 'b', size: 100},
        {digest: 'b', size: 100}
      ]),
      110
    );
  });
  it('says truthfully how far a failed publish got', () => {
    const progress = new RunProgress();
    assert.equal(publishedBeforeFailure(progress), 'Nothing was published: nothing was sent to any registry.');
    progress.contentSent = true;
    assert.match(publishedBeforeFailure(progress), /^Nothing was published: no tag was written \(blobs and manifests sent before the failure are reachable by digest only\)\.$/);
    progress.tagsPlanned = 3;
    progress.logger().tagWritten?.('ghcr.io/acme/bp:1.2.3');
    assert.equal(publishedBeforeFailure(progress), '1 of 3 tags were written before the failure, each naming the complete index: ghcr.io/acme/bp:1.2.3; run again to write the other 2.');
  });
});

describe('plain output outside Actions', () => {
  const render = (text: string, debug = false): string => {
    let out = '';
    const plain = new PlainOutput(t => (out += t), debug);
    // In pieces, as stdout writes may come.
    for (let i = 0; i < text.length; i += 7) plain.push(text.slice(i, i + 7));
    plain.flush();
    return out;
  };
  it('turns groups into headings, drops debug unless asked, and names files of warnings and errors', () => {
    const text = '::group::Build%25 x\nbuilt\n::endgroup::\n::debug::secret-free detail\n::add-mask::hidden\n::warning file=a/b.toml,line=3,col=5::line1%0Aline2\n::error::bad\n';
    assert.equal(render(text), '\n== Build% x\nbuilt\nwarning: a/b.toml:3:5: line1\nline2\nerror: bad\n');
    assert.match(render(text, true), /^debug: secret-free detail$/m);
  });
  it('prints text framed by stop-commands as it is, commands in it included', () => {
    const text = '::stop-commands::tok123\n::error::from a tool\n::group::also literal\n::tok123::\n::group::Real\n';
    assert.equal(render(text), '::error::from a tool\n::group::also literal\n\n== Real\n');
  });
});

describe('TOML errors carry their line', () => {
  const text = 'api = "0.10"\n\n[buildpack]\n  id = "a/b"\n  version = "1.0.0"\n  homepage = 42\n\n[[targets]]\n  os = "linux"\n\n[[targets]]\n  os = 7\n';
  it('finds keys, array elements and tables', () => {
    const doc = parseToml(text, 'buildpack.toml');
    assert.equal(lineOf(doc, 'buildpack.homepage'), 6);
    assert.equal(lineOf(doc, 'buildpack'), 3);
    assert.equal(lineOf(doc, 'targets.os'), 9);
    assert.equal(lineOf(doc, 'targets.1.os'), 12);
    assert.equal(lineOf(doc, 'buildpack.nothing'), 3, 'the parent table, for a missing key');
    assert.equal(lineOf(doc, 'nowhere'), undefined);
  });
  it('an error in buildpack.toml names the file and the key, and the report finds the line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'toml-line-'));
    const file = path.join(dir, 'buildpack.toml');
    const reportOf = async (toml: string): Promise<FailureReport> => {
      await writeFile(file, toml);
      try {
        parseDescriptor(toml, file);
      } catch (error) {
        assert.ok(error instanceof UserError && error.file === file, String(error));
        return describeFailure(error);
      }
      throw new Error('parsed');
    };
    const targets = await reportOf(text);
    assert.match(targets.sentence, /targets\.os that is not a string/);
    assert.equal(targets.line, 12);
    const homepage = await reportOf(text.replace('os = 7', 'os = "linux"'));
    assert.match(homepage.sentence, /buildpack\.homepage that is not a string/);
    assert.equal(homepage.line, 6);
    const syntax = await reportOf('api = "0.10"\nname = = 1\n');
    assert.deepEqual([syntax.line, syntax.column], [2, 8]);
  });
});

describe('programs that cannot run', () => {
  it('says what to do for a missing program, one that is not executable, and a missing folder', async () => {
    assert.equal(describeFailure(await runProcess('no-such-tool-4d1a', []).catch((e: unknown) => e)).sentence, 'no-such-tool-4d1a is not on PATH; install it on the runner, or fix the command.');
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'noexec-')), 'build.sh');
    await writeFile(file, 'echo hi\n', {mode: 0o644});
    const noexec = describeFailure(await runProcess(file, []).catch((e: unknown) => e));
    assert.equal(noexec.sentence, `${file}: cannot be started (EACCES); make it an executable program for this runner (chmod +x), or fix the path.`);
    assert.equal(noexec.kind, 'user');
    const gone = describeFailure(await runProcess('sh', [], {cwd: path.join(tmpdir(), 'gone-9b2f')}).catch((e: unknown) => e));
    assert.match(gone.sentence, /^sh: cannot start in .*gone-9b2f, which does not exist; fix the path\.$/);
  });
});
