/**
 * The modes in process, against a real registry (Debian's docker-registry on 127.0.0.1): mode
 * package pushes by digest, mode merge tags the index over those manifests, mode publish
 * publishes a layout byte for byte, mode smoke pulls a platform and tests it, a composite
 * resolves its components from the registry; and the entry points around them (main's failure
 * path, the post step, the CLI, the bundle's dispatch). What the runner reads (GITHUB_OUTPUT)
 * is a file of the test's.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {chmod, mkdir, readFile, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {parseOutputFile} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {tempDir} from '../helpers/fixtures.js';
import {ROOT, EXAMPLE_APP} from '../helpers/paths.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';
import {runCli} from '../../src/cli/cli.js';
import {readDescriptor} from '../../src/buildpack/descriptor.js';
import {resolveComponents} from '../../src/composite/composite.js';
import {readPackageConfig} from '../../src/composite/package-toml.js';
import {getInputs, type Inputs} from '../../src/inputs/inputs.js';
import {run} from '../../src/main.js';
import {runRelease} from '../../src/modes/all.js';
import {runMerge} from '../../src/modes/merge.js';
import {runPublish} from '../../src/modes/publish.js';
import {runSmoke} from '../../src/modes/smoke.js';
import {planRelease} from '../../src/plan/plan.js';
import {runPost} from '../../src/post.js';
import {checkExpectedDigest} from '../../src/publish/expected.js';
import {loginOf, openRegistries, timeoutsFromEnv} from '../../src/publish/registries.js';
import {readImage, resolvePlatformImage} from '../../src/registry/read.js';
import {parseReference} from '../../src/registry/reference.js';
import {UserError} from '../../src/util/errors.js';

/** A buildpack with prebuilt scripts per platform: nothing to compile. */
async function prebuilt(id = 'unit/hello'): Promise<string> {
  const dir = await tempDir('modes-bp-');
  await writeFile(path.join(dir, 'buildpack.toml'), `api = "0.10"\n\n[buildpack]\n  id = "${id}"\n  version = "1.0.0"\n\n[[targets]]\n  os = "linux"\n  arch = "amd64"\n\n[[targets]]\n  os = "linux"\n  arch = "arm64"\n`);
  for (const arch of ['amd64', 'arm64']) {
    const bin = path.join(dir, 'linux', arch, 'bin');
    await mkdir(bin, {recursive: true});
    await writeFile(path.join(bin, 'run'), `#!/bin/sh\ncase "$0" in *detect) [ -f hello.txt ] || exit 100; echo "detected (${arch})";; *) echo "built (${arch})";; esac\n`);
    await chmod(path.join(bin, 'run'), 0o755);
    await symlink('run', path.join(bin, 'detect'));
    await symlink('run', path.join(bin, 'build'));
  }
  return dir;
}

interface Runner {
  env: NodeJS.ProcessEnv;
  inputs(values: Record<string, string>): Inputs;
  outputs(): Promise<Record<string, string>>;
}

/** The environment a mode runs in: its own RUNNER_TEMP and output file, which @actions/core reads from process.env. */
async function runner(): Promise<Runner> {
  const temp = await tempDir('modes-runner-');
  const output = path.join(temp, 'github_output');
  await writeFile(output, '');
  process.env.GITHUB_OUTPUT = output;
  delete process.env.GITHUB_STEP_SUMMARY;
  const env: NodeJS.ProcessEnv = {RUNNER_TEMP: temp, PATH: process.env.PATH, HOME: process.env.HOME};
  return {
    env,
    inputs: values => getInputs(name => values[name] ?? '', env),
    outputs: async () => parseOutputFile(await readFile(output, 'utf8'))
  };
}

describe('modes, in process, against a real registry', () => {
  let registry: TestRegistry;
  let bp: string;
  const saved = {...process.env};
  before(async () => {
    registry = await startRegistry();
    bp = await prebuilt();
  });
  after(async () => {
    await registry?.stop();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  const tags = (repo: string): string => `${registry.host}/${repo}:1.0.0`;
  const raw = (ref: string): string => execOk('skopeo', ['inspect', '--raw', ...registry.skopeoFlags('plain'), `docker://${registry.host}/${ref}`]);

  let layout: string;
  let packaged: Record<string, string>;
  it('mode all without tags packages a layout and publishes nothing', async () => {
    const r = await runner();
    layout = path.join(r.env.RUNNER_TEMP as string, 'out');
    await runRelease(r.inputs({path: bp, output: layout}), r.env);
    packaged = await r.outputs();
    assert.match(packaged.digest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(packaged.tags, '');
    assert.deepEqual(await registry.catalog(), []);
  });

  it('mode publish sends that layout byte for byte, and refuses a digest other than the expected one', async () => {
    const r = await runner();
    await assert.rejects(
      runPublish(r.inputs({layout, tags: tags('unit/published'), 'insecure-registries': registry.host, 'expected-digest': `sha256:${'0'.repeat(64)}`}), r.env),
      (e: unknown) => e instanceof UserError && /but input "expected-digest" is/.test(e.message)
    );
    assert.deepEqual(await registry.catalog(), [], 'nothing sent before the check');
    await runPublish(r.inputs({layout, tags: tags('unit/published'), 'insecure-registries': registry.host, 'expected-digest': packaged.digest}), r.env);
    assert.equal((await r.outputs()).digest, packaged.digest);
    assert.equal(`sha256:${execOk('sha256sum', ['-'], {input: raw('unit/published:1.0.0')}).split(' ')[0]}`, packaged.digest);
  });

  let manifests: string;
  it('mode package pushes the manifests by digest and writes no tag; mode merge then writes the same index', async () => {
    const r = await runner();
    await runRelease(r.inputs({path: bp, output: path.join(r.env.RUNNER_TEMP as string, 'out'), mode: 'package', tags: tags('unit/split'), 'insecure-registries': registry.host}), r.env);
    manifests = (await r.outputs()).manifests;
    assert.deepEqual(await registry.tags('unit/split'), []);
    const m = await runner();
    await runMerge(m.inputs({path: bp, mode: 'merge', manifests, tags: tags('unit/split'), 'insecure-registries': registry.host}), m.env);
    assert.equal((await m.outputs()).digest, packaged.digest, 'byte-identical to mode all');
    assert.deepEqual(await registry.tags('unit/split'), ['1.0.0']);
  });

  it('mode merge refuses manifests the repository does not hold', async () => {
    const m = await runner();
    await assert.rejects(
      runMerge(m.inputs({path: bp, mode: 'merge', manifests, tags: tags('unit/elsewhere'), 'insecure-registries': registry.host}), m.env),
      (e: unknown) => e instanceof Error && /does not hold the manifest/.test(e.message)
    );
    assert.deepEqual(await registry.tags('unit/elsewhere'), []);
  });

  it('mode smoke pulls this runner platform by digest and tests it', async () => {
    const r = await runner();
    await runSmoke(r.inputs({mode: 'smoke', manifests, tags: tags('unit/split'), 'insecure-registries': registry.host, 'smoke-app': EXAMPLE_APP, architectures: 'amd64'}), r.env);
    const smoke = JSON.parse((await r.outputs()).smoke) as {platform: string; status: string}[];
    assert.deepEqual(
      smoke.map(s => [s.platform, s.status]),
      [['linux/amd64', 'passed']]
    );
  });

  it('the registry layer opens clients with the inputs login, reads images back by platform, checked by digest', async () => {
    const clients = await openRegistries([registry.host], loginOf({insecureRegistries: [registry.host]}, registry.host), {});
    const client = clients(registry.host);
    const ref = parseReference(tags('unit/published'), 'test');
    const arm64 = await resolvePlatformImage(client, ref, {os: 'linux', architecture: 'arm64'});
    assert.equal(arm64?.config.architecture, 'arm64');
    assert.equal(await resolvePlatformImage(client, ref, {os: 'linux', architecture: 's390x'}), undefined);
    const again = await readImage(client, 'unit/published', arm64?.manifest);
    assert.deepEqual(again.layers, arm64?.layers);
    assert.ok(clients.stats().requests > 0);
  });

  it('a composite resolves its components from the registry, per platform', async () => {
    const family = await tempDir('modes-family-');
    await writeFile(path.join(family, 'buildpack.toml'), 'api = "0.10"\n\n[buildpack]\n  id = "unit/family"\n  version = "2.0.0"\n\n[[order]]\n  [[order.group]]\n    id = "unit/hello"\n    version = "1.0.0"\n');
    await writeFile(path.join(family, 'package.toml'), `[[dependencies]]\n  uri = "docker://${tags('unit/published')}"\n\n[[targets]]\n  os = "linux"\n  arch = "amd64"\n\n[[targets]]\n  os = "linux"\n  arch = "arm64"\n`);
    const r = await runner();
    const descriptor = await readDescriptor(family);
    const config = await readPackageConfig(family, descriptor.file);
    assert.equal(config.components[0].kind, 'image');
    const plan = planRelease(r.inputs({path: family}), descriptor, r.env, config);
    const clients = await openRegistries([registry.host], loginOf({insecureRegistries: [registry.host]}, undefined), {});
    const resolved = await resolveComponents(config, descriptor, plan, clients, await tempDir('modes-work-'));
    assert.ok(resolved.sources.size > 0, 'each component layer knows the repository it can be mounted from');
  });

  it('main ends a bad input in one error and exit code 1; the post step never fails; the expected digest and timeouts are checked', async () => {
    const r = await runner();
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string) => (lines.push(String(chunk)), true);
    try {
      await run({...r.env, INPUT_PATH: '/nonexistent', INPUT_SUMMARY: 'false'});
    } finally {
      process.stdout.write = write;
    }
    assert.equal(process.exitCode, 1);
    process.exitCode = 0;
    assert.deepEqual(
      lines.filter(l => l.startsWith('::error')).map(l => l.trim()),
      ['::error::No buildpack.toml or extension.toml in /nonexistent; set the "path" input to the buildpack\'s (or image extension\'s) directory.']
    );
    await runPost();
    assert.equal(process.exitCode, 0);
    assert.doesNotThrow(() => checkExpectedDigest('sha256:a', undefined));
    assert.throws(() => checkExpectedDigest('sha256:a', 'sha256:b'), UserError);
    assert.equal(timeoutsFromEnv({MULTIARCH_BUILDPACK_HTTP_TIMEOUT: '2.5'}).requestMs, 2500);
    assert.throws(() => timeoutsFromEnv({MULTIARCH_BUILDPACK_HTTP_TIMEOUT: 'soon'}), /is not a number of seconds/);
  });
});

describe('the command line', () => {
  it('prints the usage for --help and refuses an unknown flag with exit code 2', async () => {
    const printed: string[] = [];
    const log = console.log;
    const error = console.error;
    console.log = (text: string) => void printed.push(text);
    console.error = (text: string) => void printed.push(text);
    try {
      await runCli(['--help']);
      await runCli(['--no-such-input']);
    } finally {
      console.log = log;
      console.error = error;
    }
    assert.match(printed[0], /^usage: npm run cli/);
    assert.match(printed[1], /unknown argument "--no-such-input"/);
    assert.equal(process.exitCode, 2);
    process.exitCode = 0;
  });

  it('is what the compiled entry point runs for --cli, before loading anything else', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'build', 'src', 'index.js'), '--cli', '--help'], {encoding: 'utf8', env: {PATH: process.env.PATH}});
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^usage: npm run cli/);
    assert.equal(result.stderr, '');
  });
});
