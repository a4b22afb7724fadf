/**
 * Publishing against a real registry (Debian's docker-registry on 127.0.0.1) in four set-ups.
 * Each publishes the example buildpack to two tags in two repositories; skopeo, not project
 * code, confirms what landed. A second run must upload no blob; bad credentials, a missing push
 * right and an unreachable registry must end in one sentence with no tag written.
 */
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {readFile, readdir} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {startProxy} from '../helpers/proxy.js';
import {startRegistry, unreachableHost, writeDockerConfig, type StartOptions, type TestRegistry} from '../helpers/registry.js';

const VERSION = '0.1.0';
const PASSWORD = 'pw-Zq8!distinctive';
const PUSHER = {username: 'pusher', password: PASSWORD};

interface Setup {
  name: string;
  registry: StartOptions;
  /** Inputs and environment that give the action its credentials and trust. */
  access(registry: TestRegistry): Promise<{inputs: Record<string, string>; env: Record<string, string>}>;
}

const trust = (r: TestRegistry): {inputs: Record<string, string>; env: Record<string, string>} =>
  r.caFile ? {inputs: {}, env: {NODE_EXTRA_CA_CERTS: r.caFile}} : {inputs: {'insecure-registries': [r.host, ...(r.tokenRealm ? [new URL(r.tokenRealm).host] : [])].join(',')}, env: {}};

const setups: Setup[] = [
  {name: 'anonymous over plain HTTP', registry: {}, access: async r => trust(r)},
  {
    name: 'htpasswd Basic over TLS with a self-signed CA',
    registry: {tls: true, htpasswd: [PUSHER]},
    access: async r => ({inputs: {'registry-username': PUSHER.username, 'registry-password': PASSWORD}, env: trust(r).env})
  },
  {
    name: 'Bearer tokens from a token server',
    registry: {token: {users: [PUSHER, {username: 'reader', password: 'reader-pw', actions: ['pull']}]}},
    access: async r => ({inputs: {...trust(r).inputs, 'registry-username': PUSHER.username, 'registry-password': PASSWORD}, env: {}})
  },
  {
    name: 'credentials from a docker config.json (Bearer over TLS)',
    registry: {tls: true, token: {users: [PUSHER]}},
    // The harness's token server speaks plain HTTP: the action refuses to send credentials there
    // unless told that host is a test host.
    access: async r => ({
      inputs: {'insecure-registries': new URL(r.tokenRealm as string).host},
      env: {...trust(r).env, DOCKER_CONFIG: await writeDockerConfig({[r.host]: PUSHER})}
    })
  }
];

function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function publishExample(registry: TestRegistry, access: {inputs: Record<string, string>; env: Record<string, string>}, extra: Record<string, string> = {}): Promise<ActionRun> {
  const output = path.join(await tempDir('publish-'), 'out');
  return runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output, tags: `${registry.host}/acme/hello:${VERSION}\n${registry.host}/team/hello-bp:latest`, ...access.inputs, ...extra}, {env: access.env});
}

/** Every file below a directory, for the check that no secret was written. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {withFileTypes: true, recursive: true});
  return entries.filter(e => e.isFile()).map(e => path.join(e.parentPath, e.name));
}

for (const setup of setups) {
  describe(`publish: ${setup.name}`, () => {
    let registry: TestRegistry;
    let first: ActionRun;
    let access: {inputs: Record<string, string>; env: Record<string, string>};

    before(async () => {
      registry = await startRegistry(setup.registry);
      access = await setup.access(registry);
      first = await publishExample(registry, access);
      assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}\n${registry.log()}`);
    });
    after(async () => registry?.stop());

    it('sets digest, image and tags, and the summary lists every tag', () => {
      assert.match(first.outputs.digest, /^sha256:[a-f0-9]{64}$/);
      assert.equal(first.outputs.image, `${registry.host}/acme/hello@${first.outputs.digest}`);
      assert.deepEqual(first.outputs.tags.split('\n'), [`${registry.host}/acme/hello:${VERSION}`, `${registry.host}/team/hello-bp:latest`]);
      for (const tag of first.outputs.tags.split('\n')) assert.ok(first.summary.includes(tag), `summary lists ${tag}`);
    });

    it('skopeo: both tags resolve to the output digest, both platforms resolve, configs carry their architecture', () => {
      for (const ref of [`acme/hello:${VERSION}`, 'team/hello-bp:latest']) {
        const raw = execOk('skopeo', ['inspect', '--raw', ...registry.skopeoFlags('plain'), `docker://${registry.host}/${ref}`]);
        assert.equal(sha256(raw), first.outputs.digest, ref);
        for (const arch of ['amd64', 'arm64']) {
          const image = JSON.parse(execOk('skopeo', ['inspect', ...registry.skopeoFlags('plain'), '--override-os', 'linux', '--override-arch', arch, `docker://${registry.host}/${ref}`])) as {Architecture: string; Os: string};
          assert.equal(image.Architecture, arch);
          const config = JSON.parse(execOk('skopeo', ['inspect', '--config', ...registry.skopeoFlags('plain'), '--override-os', 'linux', '--override-arch', arch, `docker://${registry.host}/${ref}`])) as {architecture: string; os: string};
          assert.deepEqual([config.os, config.architecture], ['linux', arch]);
        }
      }
    });

    it('each repository holds only the tags asked for: no per-architecture or temporary tags', async () => {
      assert.deepEqual(await registry.catalog(), ['acme/hello', 'team/hello-bp']);
      for (const [repo, tag] of [
        ['acme/hello', VERSION],
        ['team/hello-bp', 'latest']
      ]) {
        const listed = JSON.parse(execOk('skopeo', ['list-tags', ...registry.skopeoFlags('plain'), `docker://${registry.host}/${repo}`])) as {Tags: string[]};
        assert.deepEqual(listed.Tags, [tag]);
      }
    });

    it('writes each tag only after its blobs and manifests, and mounts instead of uploading twice', () => {
      const requests = registry.requests();
      const firstTagPut = requests.findIndex(r => r.method === 'PUT' && /\/manifests\/(0\.1\.0|latest)$/.test(r.path));
      const lastContent = requests.findLastIndex(r => (r.method === 'PUT' && (/\/blobs\/uploads\//.test(r.path) || /\/manifests\/sha256:/.test(r.path))) || (r.method === 'POST' && /mount=/.test(r.query)));
      assert.ok(firstTagPut > lastContent, 'tags come last');
      const uploads = requests.filter(r => r.method === 'PUT' && /\/blobs\/uploads\//.test(r.path) && r.status === 201);
      assert.equal(uploads.length, 4, 'two layers and two configs, uploaded once');
      assert.equal(requests.filter(r => r.method === 'POST' && /mount=/.test(r.query) && r.status === 201).length, 4, 'mounted into the second repository');
    });

    it('a second run uploads no blob and ends with the same digest', async () => {
      const before = registry.requests().length;
      const second = await publishExample(registry, access);
      assert.equal(second.code, 0, second.stdout);
      assert.equal(second.outputs.digest, first.outputs.digest);
      const requests = registry.requests().slice(before);
      assert.deepEqual(
        requests.filter(r => r.method === 'POST' || r.method === 'PATCH' || (r.method === 'PUT' && r.path.includes('/blobs/'))),
        []
      );
      assert.ok(requests.filter(r => r.method === 'HEAD' && r.path.includes('/blobs/')).length >= 8, 'HEAD hits only');
      const metadata = JSON.parse(second.outputs.metadata) as {push: {uploaded: number; bytesUploaded: number; existing: number}};
      assert.deepEqual([metadata.push.uploaded, metadata.push.bytesUploaded, metadata.push.existing], [0, 0, 8]);
    });

    it('the password and registry tokens appear nowhere but in mask commands', async () => {
      const masked = (text: string): string =>
        text
          .split('\n')
          .filter(l => !l.startsWith('::add-mask::'))
          .join('\n');
      const everything = [masked(first.stdout), first.stderr, JSON.stringify(first.outputs), first.summary];
      for (const file of await allFiles(first.outputs.layout)) everything.push((await readFile(file)).toString('latin1'));
      for (const text of everything) assert.ok(!text.includes(PASSWORD), 'password leaked');
      const tokens = registry.tokenRequests().flatMap(t => (t.issued && t.username === PUSHER.username ? [t.issued] : []));
      if (setup.registry.token) assert.ok(tokens.length > 0, 'tokens were issued');
      for (const token of tokens) for (const text of everything) assert.ok(!text.includes(token), 'token leaked');
      if (setup.registry.token || setup.registry.htpasswd) assert.match(first.stdout, /::add-mask::/);
    });
  });
}

describe('publish: refusals write no tag', () => {
  let basic: TestRegistry;
  let token: TestRegistry;
  before(async () => {
    basic = await startRegistry({tls: true, htpasswd: [PUSHER]});
    token = await startRegistry({token: {users: [PUSHER, {username: 'reader', password: 'reader-pw', actions: ['pull']}]}});
  });
  after(async () => {
    await basic?.stop();
    await token?.stop();
  });

  function assertRefused(run: ActionRun, message: RegExp): void {
    assert.equal(run.code, 1, run.stdout);
    assert.equal(run.errors.length, 1, run.stdout);
    assert.match(run.errors[0], message);
    assert.match(run.errors[0], /^::error(?: [^:\n]*)?::[^\n]+\.$/);
    assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+:\d+:\d+/);
    assert.equal(run.outputs.tags, undefined, 'no tags output');
  }

  it('a wrong password (Basic)', async () => {
    const run = await publishExample(basic, {inputs: {'registry-username': 'pusher', 'registry-password': 'wrong'}, env: {NODE_EXTRA_CA_CERTS: basic.caFile as string}});
    assertRefused(run, /The registry 127\.0\.0\.1:\d+ rejected the user pusher \(from registry-username\/registry-password\) \(HTTP 401\); check the username and password/);
    assert.deepEqual(await basic.catalog(), []);
  });

  it('a wrong password (token server)', async () => {
    const run = await publishExample(token, {inputs: {'insecure-registries': `${token.host},${new URL(token.tokenRealm as string).host}`, 'registry-username': 'pusher', 'registry-password': 'wrong'}, env: {}});
    assertRefused(run, /rejected the user pusher .*\(HTTP 401 from its token service\)/);
    assert.deepEqual(await token.catalog(), []);
  });

  it('a token without the push right names the repository', async () => {
    const run = await publishExample(token, {inputs: {'insecure-registries': `${token.host},${new URL(token.tokenRealm as string).host}`, 'registry-username': 'reader', 'registry-password': 'reader-pw'}, env: {}});
    assertRefused(run, /does not let the user reader .* push acme\/hello \(insufficient_scope\); use credentials with push rights to acme\/hello/);
    assert.deepEqual(await token.tags('acme/hello'), []);
    assert.deepEqual(await token.tags('team/hello-bp'), []);
  });

  it('no credentials where they are required', async () => {
    const run = await publishExample(token, {inputs: {'insecure-registries': `${token.host},${new URL(token.tokenRealm as string).host}`}, env: {}});
    assertRefused(run, /requires credentials to (pull|push) acme\/hello/);
    assert.deepEqual(await token.tags('acme/hello'), []);
  });

  it('an untrusted certificate', async () => {
    const run = await publishExample(basic, {inputs: {'registry-username': 'pusher', 'registry-password': PASSWORD}, env: {}});
    assertRefused(run, /presented a certificate that is not trusted .*NODE_EXTRA_CA_CERTS/);
  });

  it('credentials are never sent to a plain-HTTP token realm of an HTTPS registry', async () => {
    const tls = await startRegistry({tls: true, token: {users: [PUSHER]}});
    try {
      const run = await publishExample(tls, {inputs: {'registry-username': 'pusher', 'registry-password': PASSWORD}, env: {NODE_EXTRA_CA_CERTS: tls.caFile as string}});
      assertRefused(run, /sends credentials to http:\/\/127\.0\.0\.1:\d+, which is not HTTPS; refusing to send them in clear/);
      assert.deepEqual(tls.tokenRequests(), [], 'the token server never saw the password');
    } finally {
      await tls.stop();
    }
  });

  it('an unreachable registry, after bounded retries', async () => {
    const host = await unreachableHost();
    const started = Date.now();
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output: path.join(await tempDir('unreachable-'), 'out'), tags: `${host}/acme/hello:${VERSION}`, 'insecure-registries': host});
    assertRefused(run, /Could not reach the registry 127\.0\.0\.1:\d+ at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) after 5 attempts/);
    assert.ok(Date.now() - started < 30_000, 'bounded');
  });

  it('a dry run sends nothing', async () => {
    const before = basic.requests().length;
    const run = await publishExample(basic, {inputs: {push: 'false', 'registry-username': 'pusher', 'registry-password': PASSWORD}, env: {NODE_EXTRA_CA_CERTS: basic.caFile as string}});
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /Dry run \(push: false\): would publish sha256:[a-f0-9]{64} to/);
    assert.equal(run.outputs.tags, '');
    assert.equal(basic.requests().length, before);
  });
});

describe('publish: fallbacks and formats', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  it('uploads in chunks after a 413 from a size-limited proxy, with the same digest', async () => {
    // Refuse any single request body over 64 KiB, as an nginx client_max_body_size would.
    const proxy = await startProxy(registry.url, req => (Number(req.headers['content-length'] ?? 0) > 64 * 1024 && req.method === 'PUT' ? {status: 413} : 'pass'));
    try {
      const reference = `${proxy.host}/chunked/hello:${VERSION}`;
      const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output: path.join(await tempDir('chunked-'), 'out'), tags: reference, 'insecure-registries': proxy.host});
      assert.equal(run.code, 0, run.stdout);
      assert.ok(
        proxy.requests.some(r => r.method === 'PUT' && r.status === 413),
        'the proxy refused a monolithic upload'
      );
      assert.ok(
        proxy.requests.some(r => r.method === 'PATCH' && r.status === 202),
        'then the blob went up in chunks'
      );
      const raw = execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/chunked/hello:${VERSION}`]);
      assert.equal(sha256(raw), run.outputs.digest);
      for (const arch of ['amd64', 'arm64']) {
        execOk('skopeo', ['copy', '--src-tls-verify=false', '--override-arch', arch, `docker://${registry.host}/chunked/hello:${VERSION}`, `oci:${await tempDir('pull-')}/x:y`]);
      }
    } finally {
      await proxy.stop();
    }
  });

  it('format: docker publishes a Docker manifest list of schema 2 manifests over the same blobs', async () => {
    const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output: path.join(await tempDir('docker-'), 'out'), tags: `${registry.host}/docker/hello:${VERSION}`, 'insecure-registries': registry.host, format: 'docker'});
    assert.equal(run.code, 0, run.stdout);
    const list = JSON.parse(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/docker/hello:${VERSION}`])) as {
      mediaType: string;
      manifests: {mediaType: string; digest: string; platform: {architecture: string}}[];
      annotations?: unknown;
    };
    assert.equal(list.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.deepEqual(
      list.manifests.map(m => [m.mediaType, m.platform.architecture]),
      [
        ['application/vnd.docker.distribution.manifest.v2+json', 'amd64'],
        ['application/vnd.docker.distribution.manifest.v2+json', 'arm64']
      ]
    );
    assert.equal(list.annotations, undefined);
    const manifest = JSON.parse(execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/docker/hello@${list.manifests[1].digest}`])) as {
      config: {mediaType: string};
      layers: {mediaType: string}[];
    };
    assert.equal(manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    assert.equal(manifest.layers[0].mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  });

  for (const [inputs, message] of [
    [{format: 'docker', annotations: 'a=b'}, /Input "annotations" is set but "format" is docker/],
    [{format: 'docker', experimental: 'true'}, /Input "experimental" is true but "format" is docker/],
    [{tags: 'REGISTRY/Acme/hello:1'}, /repository "Acme\/hello" has capital letters/],
    [{tags: 'REGISTRY/acme/hello:1.2.3+build.5'}, /tag "1\.2\.3\+build\.5" is not a valid tag/]
  ] as [Record<string, string>, RegExp][]) {
    it(`refuses ${JSON.stringify(inputs)} before building, with nothing sent`, async () => {
      const before = registry.requests().length;
      const tags = (inputs.tags ?? `REGISTRY/refused/hello:${VERSION}`).replace('REGISTRY', registry.host);
      const run = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, output: path.join(await tempDir('refused-'), 'out'), 'insecure-registries': registry.host, ...inputs, tags});
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.errors.length, 1);
      assert.match(run.errors[0], message);
      assert.doesNotMatch(run.stdout, /::group::Build/, 'refused before building');
      assert.equal(registry.requests().length, before, 'nothing sent');
    });
  }
});
