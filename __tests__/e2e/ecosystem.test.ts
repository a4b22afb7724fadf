/**
 * The action next to docker's actions, through the bundle: docker/metadata-action's annotations
 * output as it is, list inputs read with docker's CSV rules, the job summary (sizes, digests,
 * uploads, tools; on failure what failed), annotations of TOML errors on their file and line,
 * and the CLI from the bundle. skopeo reads what landed in a real registry.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {cp, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {DIST, EXAMPLE_BUILDPACK, ROOT} from '../helpers/paths.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';
import {releaseAssets, serveAll, startReleaseServer, type ReleaseServer} from '../helpers/releases.js';
import {DEFAULT_VERSIONS} from '../../src/tools/versions.js';

const VERSION = '0.1.0';

/**
 * What docker/metadata-action writes to its `annotations` output with
 * DOCKER_METADATA_ANNOTATIONS_LEVELS=manifest,index (its __tests__/meta.test.ts shows the
 * format: `<level>:<key>=<value>`, one per line, every key once per level).
 */
function metadataActionAnnotations(source: string): string {
  const labels = [
    'org.opencontainers.image.created=2020-01-10T00:30:00.000Z',
    'org.opencontainers.image.description=This your first repo!',
    'org.opencontainers.image.licenses=MIT',
    'org.opencontainers.image.revision=860c1904a1ce19322e91ac35af1ab07466440c37',
    `org.opencontainers.image.source=${source}`,
    'org.opencontainers.image.title=Hello-World',
    `org.opencontainers.image.url=${source}`,
    'org.opencontainers.image.version=dev'
  ];
  return ['manifest', 'index'].flatMap(level => labels.map(l => `${level}:${l}`)).join('\n');
}

interface RawIndex {
  manifests: {digest: string; size: number; platform: {architecture: string}; annotations?: Record<string, string>}[];
  annotations?: Record<string, string>;
}

describe('ecosystem: docker/metadata-action annotations, the job summary, tools', () => {
  let registry: TestRegistry;
  let releases: ReleaseServer;
  let run: ActionRun;
  let output: string;
  const source = 'https://github.com/octocat/Hello-World';

  before(async () => {
    registry = await startRegistry();
    releases = await startReleaseServer();
    serveAll(releases, releaseAssets({...DEFAULT_VERSIONS}));
    output = path.join(await tempDir('ecosystem-'), 'out');
    run = await runAction({
      path: EXAMPLE_BUILDPACK,
      version: VERSION,
      output,
      tags: `${registry.host}/acme/hello:${VERSION}`,
      'insecure-registries': registry.host,
      annotations: [
        metadataActionAnnotations(source),
        'manifest-descriptor[linux/arm64]:io.acme.arm=tested on graviton',
        'index-descriptor:io.acme.layout=kept',
        // A quoted CSV item keeps its commas (and is one annotation, as docker reads it).
        '"index:io.acme.note=fast, small, multi-arch"'
      ].join('\n'),
      tools: 'buildx',
      'tools-download-base-url': releases.url
    });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}\n${registry.log()}`);
  });
  after(async () => {
    await registry?.stop();
    await releases?.stop();
  });

  const inspectRaw = (reference: string): string => execOk('skopeo', ['inspect', '--raw', ...registry.skopeoFlags('plain'), `docker://${registry.host}/${reference}`]);

  it('puts index: annotations on the index the tag names (over the defaults), quoted commas intact', () => {
    const index = JSON.parse(inspectRaw(`acme/hello:${VERSION}`)) as RawIndex;
    assert.equal(index.annotations?.['org.opencontainers.image.title'], 'Hello-World', 'the input overrides the buildpack name');
    assert.equal(index.annotations?.['org.opencontainers.image.version'], 'dev');
    assert.equal(index.annotations?.['org.opencontainers.image.description'], 'This your first repo!');
    assert.equal(index.annotations?.['org.opencontainers.image.created'], '2020-01-10T00:30:00.000Z');
    assert.equal(index.annotations?.['io.acme.note'], 'fast, small, multi-arch');
    assert.equal(index.annotations?.['io.acme.layout'], undefined, 'index-descriptor items are not on the index');
  });

  it("puts manifest: annotations on every platform manifest, and manifest-descriptor ones on that platform's entry", () => {
    const index = JSON.parse(inspectRaw(`acme/hello:${VERSION}`)) as RawIndex;
    assert.deepEqual(
      index.manifests.map(m => m.platform.architecture),
      ['amd64', 'arm64']
    );
    for (const entry of index.manifests) {
      const manifest = JSON.parse(inspectRaw(`acme/hello@${entry.digest}`)) as {annotations?: Record<string, string>};
      assert.equal(manifest.annotations?.['org.opencontainers.image.title'], 'Hello-World', entry.platform.architecture);
      assert.equal(manifest.annotations?.['org.opencontainers.image.licenses'], 'MIT');
      assert.equal(manifest.annotations?.['org.opencontainers.image.source'], source);
      assert.equal(Object.keys(manifest.annotations ?? {}).length, 8, 'exactly the eight manifest: items');
    }
    assert.equal(index.manifests[0].annotations, undefined);
    assert.deepEqual(index.manifests[1].annotations, {'io.acme.arm': 'tested on graviton'});
  });

  it("puts index-descriptor: annotations on the layout's entry for the index", async () => {
    const top = JSON.parse(await readFile(path.join(output, 'index.json'), 'utf8')) as {manifests: {digest: string; annotations: Record<string, string>}[]};
    const entry = top.manifests.find(m => m.digest === run.outputs.digest);
    assert.equal(entry?.annotations['io.acme.layout'], 'kept');
    assert.equal(entry?.annotations['org.opencontainers.image.ref.name'], VERSION);
  });

  it("writes a summary with image@digest, each image's size as the layout's blobs add up, uploads and tool versions", async () => {
    assert.ok(run.summary.includes(`${registry.host}/acme/hello@${run.outputs.digest}`), 'image@digest to copy');
    assert.match(run.summary, /@sha256:[a-f0-9]{64}/);
    const index = JSON.parse(await readFile(path.join(output, 'blobs', 'sha256', run.outputs.digest.slice(7)), 'utf8')) as RawIndex;
    for (const entry of index.manifests) {
      const manifest = JSON.parse(await readFile(path.join(output, 'blobs', 'sha256', entry.digest.slice(7)), 'utf8')) as {config: {size: number}; layers: {size: number}[]};
      const size = manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0);
      assert.ok(size > entry.size * 10, 'an image is far larger than its manifest');
      assert.ok(run.summary.includes(`(${size} bytes)`), `linux/${entry.platform.architecture} is ${size} bytes in the summary`);
      assert.ok(!run.summary.includes(`>${entry.size}<`), 'the manifest size is not shown as the image size');
      assert.ok(run.summary.includes(entry.digest.slice(0, 7 + 12)), 'short manifest digest');
      assert.ok(run.summary.includes(entry.digest), 'full manifest digest');
    }
    const metadata = JSON.parse(run.outputs.metadata) as {push: {uploaded: number; bytesUploaded: number}};
    assert.ok(metadata.push.uploaded >= 4);
    assert.ok(run.summary.includes(`${metadata.push.uploaded} blobs uploaded`), 'upload statistics');
    assert.ok(run.summary.includes(`(${metadata.push.bytesUploaded} bytes)`), 'bytes uploaded');
    assert.match(run.summary, new RegExp(`buildx</td><td><code>${DEFAULT_VERSIONS.buildx.replace(/\./g, '\\.')}</code>`), 'tool versions');
    assert.ok(run.summary.includes(`${registry.host}/acme/hello:${VERSION}`), 'the tag');
  });
});

describe('ecosystem: failures annotate files and write a failure summary', () => {
  it('a malformed buildpack.toml is an ::error on its file and line, relative to the workspace', async () => {
    const workspace = await tempDir('workspace-');
    const dir = path.join(workspace, 'bp');
    await cp(await copyExample(), dir, {recursive: true});
    const file = path.join(dir, 'buildpack.toml');
    const lines = (await readFile(file, 'utf8')).split('\n');
    const at = lines.findIndex(l => l.trim().startsWith('name ='));
    assert.ok(at > 0, 'the example names itself');
    lines[at] = 'name = Hello World';
    await writeFile(file, lines.join('\n'));
    const run = await runAction({path: dir, version: VERSION}, {env: {GITHUB_WORKSPACE: workspace}});
    assert.equal(run.code, 1);
    assert.equal(run.errors.length, 1, run.stdout);
    assert.match(run.errors[0], new RegExp(`^::error file=bp/buildpack\\.toml,line=${at + 1},col=8::.*buildpack\\.toml is not valid TOML at line ${at + 1}, column 8`));
    assert.match(run.summary, /failed/);
    assert.match(run.summary, /Read buildpack/);
    assert.match(run.summary, /bp\/buildpack\.toml|buildpack\.toml/);
    assert.match(run.summary, /Nothing was published: nothing was sent to any registry\./);
  });

  it('a wrongly typed key is annotated on the line that holds it', async () => {
    const dir = await copyExample();
    const file = path.join(dir, 'buildpack.toml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(/^(\s*)homepage = .*$/m, '$1homepage = 42'));
    const line = text.split('\n').findIndex(l => l.trim().startsWith('homepage =')) + 1;
    assert.ok(line > 1);
    const run = await runAction({path: dir, version: VERSION});
    assert.equal(run.code, 1);
    assert.match(run.errors[0], new RegExp(`^::error file=[^,]*buildpack\\.toml,line=${line}::.*buildpack\\.homepage that is not a string`));
  });

  it('a publish that fails writes what failed and that no tag was written', async () => {
    const registry = await startRegistry({htpasswd: [{username: 'pusher', password: 'right'}]});
    try {
      const run = await runAction({
        path: EXAMPLE_BUILDPACK,
        version: VERSION,
        output: path.join(await tempDir('fail-summary-'), 'out'),
        tags: `${registry.host}/acme/hello:${VERSION}`,
        'insecure-registries': registry.host,
        'registry-username': 'pusher',
        'registry-password': 'wrong'
      });
      assert.equal(run.code, 1);
      assert.match(run.summary, /examples\/hello 0\.1\.0: failed/);
      assert.match(run.summary, /rejected the user pusher/);
      assert.match(run.summary, /Nothing was published/);
      assert.deepEqual(await registry.tags('acme/hello'), []);
    } finally {
      await registry.stop();
    }
  });

  it('summary: false and DOCKER_BUILD_SUMMARY=false write none, failing or not', async () => {
    const off = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output: path.join(await tempDir('no-summary-'), 'out'), summary: 'false'});
    assert.equal(off.code, 0, off.stdout);
    assert.equal(off.summary, '');
    const docker = await runAction({path: '/nonexistent'}, {env: {DOCKER_BUILD_SUMMARY: 'false'}});
    assert.equal(docker.code, 1);
    assert.equal(docker.summary, '');
    const on = await runAction({path: '/nonexistent'});
    assert.match(on.summary, /failed/);
  });
});

describe('ecosystem: the CLI runs the bundle', () => {
  const node = process.execPath;
  const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GITHUB_') && !k.startsWith('INPUT_') && k !== 'RUNNER_DEBUG'));

  it('npm run cli is the committed bundle, compiling nothing', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {scripts: Record<string, string>};
    assert.equal(pkg.scripts.cli, 'node dist/index.js --cli');
    const help = spawnSync(node, [DIST, '--cli', '--help'], {encoding: 'utf8', env: cleanEnv()});
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: npm run cli/);
  });

  it('says in one sentence that an older Node.js cannot run it', t => {
    // Debian 12's node (18), or the Node 20 CI starts from: any node in PATH older than 24.
    const older = (process.env.PATH ?? '')
      .split(path.delimiter)
      .map(dir => path.join(dir, 'node'))
      .find(candidate => {
        const version = spawnSync(candidate, ['-p', 'process.versions.node'], {encoding: 'utf8'});
        return version.status === 0 && Number(version.stdout.split('.')[0]) < 24;
      });
    if (!older) return t.skip('no Node.js older than 24 in PATH');
    const run = spawnSync(older, [DIST, '--cli', '--help'], {encoding: 'utf8', env: cleanEnv()});
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: multiarch-buildpack-action needs Node\.js 24 or later, and this is v\d+\.\d+\.\d+; run it with npm run cli .*\n$/);
  });

  it('prints groups as headings and no workflow commands, debug only with --debug, and writes GITHUB_OUTPUT when set', async () => {
    const dir = await tempDir('cli-');
    const outputFile = path.join(dir, 'github_output');
    await writeFile(outputFile, 'earlier=1\n');
    const args = [DIST, '--cli', '--path', EXAMPLE_BUILDPACK, '--version', VERSION, '--output', path.join(dir, 'out')];
    const plain = spawnSync(node, args, {encoding: 'utf8', env: {...cleanEnv(), GITHUB_OUTPUT: outputFile}});
    assert.equal(plain.status, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /^== Package$/m);
    assert.deepEqual(
      plain.stdout.split('\n').filter(l => l.startsWith('::')),
      [],
      'no workflow commands'
    );
    assert.doesNotMatch(plain.stdout, /^debug: /m);
    const outputs = await readFile(outputFile, 'utf8');
    assert.match(outputs, /^earlier=1\n/, 'appended, as the runner expects');
    assert.match(outputs, /^digest<<.+\nsha256:[a-f0-9]{64}\n/m);
    assert.match(plain.stdout, /"digest": "sha256:[a-f0-9]{64}"/, 'the metadata is printed');

    const debug = spawnSync(node, [...args.slice(0, -1), path.join(dir, 'out2'), '--debug'], {encoding: 'utf8', env: cleanEnv()});
    assert.equal(debug.status, 0, debug.stdout + debug.stderr);
    assert.match(debug.stdout, /^debug: /m);

    const failing = spawnSync(node, [DIST, '--cli', '--path', '/nonexistent'], {encoding: 'utf8', env: cleanEnv()});
    assert.equal(failing.status, 1);
    assert.match(failing.stdout, /^error: No buildpack\.toml or extension\.toml in \/nonexistent/m);
  });
});
