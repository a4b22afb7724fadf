/**
 * Registries that misbehave on purpose, through the bundle as the runner runs it: hosts a
 * registry redirects to, token realms in clear, trickling answers, substituted content,
 * oversized blobs, poisoned error messages, odd passwords and references, proxies.
 */
import assert from 'node:assert/strict';
import {readFile, readdir, stat} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {tempDir} from '../helpers/fixtures.js';
import {runnerCommands, startCapture, startForwardProxy, startFront, type Server} from '../helpers/hostile.js';
import {EXAMPLE_APP, EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

const VERSION = '0.1.0';
const PASSWORD = 'pw-Hostile!7';
const BASIC = Buffer.from(`pusher:${PASSWORD}`).toString('base64');

async function publishTo(host: string, inputs: Record<string, string> = {}, env: Record<string, string> = {}, runnerTemp?: string): Promise<ActionRun> {
  return runAction(
    {path: EXAMPLE_BUILDPACK, version: VERSION, architectures: 'amd64', output: path.join(await tempDir('hostile-out-'), 'out'), tags: `${host}/acme/hello:${VERSION}`, 'insecure-registries': host, ...inputs},
    {env, runnerTemp}
  );
}

function assertOneSentence(run: ActionRun, message: RegExp): void {
  assert.equal(run.code, 1, run.stdout);
  assert.equal(run.errors.length, 1, run.stdout);
  assert.match(run.errors[0], message);
  assert.match(run.errors[0], /^::error(?: [^:\n]*)?::[^\n]+\.$/);
  assert.doesNotMatch(run.errors[0], /Internal error/);
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

function assertNoCredentials(server: Server): void {
  for (const req of server.seen) {
    assert.equal(req.headers.authorization, undefined, `${req.method} ${req.url} carried credentials`);
    assert.ok(!req.url.startsWith('/token'), 'no token was asked of the foreign host');
    const everything = JSON.stringify({...req, body: req.body.toString('latin1')});
    assert.ok(!everything.includes(PASSWORD) && !everything.includes(BASIC), 'the password never reached it');
  }
}

/** The foreign host: answers 401 with a Bearer realm of its own, hoping for the password. */
async function foreignHost(): Promise<Server> {
  return startCapture((_req, self) => ({status: 401, headers: {'www-authenticate': `Bearer realm="http://${self}/token",service="evil",scope="repository:acme/hello:pull,push"`}, body: '{"errors":[{"code":"UNAUTHORIZED"}]}'}));
}

describe('hostile registries: credentials stay with the registry', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({htpasswd: [{username: 'pusher', password: PASSWORD}]});
  });
  after(async () => registry?.stop());
  const login = {'registry-username': 'pusher', 'registry-password': PASSWORD};

  it('an upload location on another host that asks for its own Bearer token gets no credential', async () => {
    const foreign = await foreignHost();
    const front = await startFront(registry.url, req =>
      req.method === 'POST' && req.url.includes('/blobs/uploads/') && !req.url.includes('mount=') ? {rewrite: up => ({status: up.status, headers: {location: `${foreign.url}/storage/upload?_state=1`}})} : undefined
    );
    try {
      const run = await publishTo(front.host, login);
      assertOneSentence(run, /127\.0\.0\.1:\d+, where 127\.0\.0\.1:\d+ sent PUT http:\/\/127\.0\.0\.1:\d+\/storage\/upload, refused it \(HTTP 401\); no credentials are sent to hosts other than the registry/);
      assert.ok(foreign.seen.length > 0, 'the upload went to the foreign host');
      assertNoCredentials(foreign);
      assert.deepEqual(await registry.tags('acme/hello'), [], 'no tag');
    } finally {
      await front.stop();
      await foreign.stop();
    }
  });

  it('a blob redirect to another host in mode: smoke gets no credential', async () => {
    const packaged = await runAction({
      path: EXAMPLE_BUILDPACK,
      version: VERSION,
      architectures: 'amd64',
      mode: 'package',
      output: path.join(await tempDir('hostile-pkg-'), 'out'),
      tags: `${registry.host}/acme/redirect:${VERSION}`,
      'insecure-registries': registry.host,
      ...login
    });
    assert.equal(packaged.code, 0, packaged.stdout);
    const foreign = await foreignHost();
    const front = await startFront(registry.url, req => (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url) ? {status: 307, headers: {location: `${foreign.url}/storage${req.url}`}} : undefined));
    try {
      const run = await runAction({mode: 'smoke', manifests: packaged.outputs.manifests, tags: `${front.host}/acme/redirect:${VERSION}`, 'insecure-registries': front.host, 'smoke-app': EXAMPLE_APP, ...login});
      assertOneSentence(run, /refused it \(HTTP 401\); no credentials are sent to hosts other than the registry/);
      assert.ok(
        foreign.seen.some(r => r.method === 'GET'),
        'the blob was asked of the foreign host'
      );
      assertNoCredentials(foreign);
    } finally {
      await front.stop();
      await foreign.stop();
    }
  });

  it('a password with leading and trailing spaces is used exactly as given', async () => {
    const spaced = await startRegistry({htpasswd: [{username: 'spacey', password: '  two spaces  '}]});
    try {
      const run = await publishTo(spaced.host, {'registry-username': 'spacey', 'registry-password': '  two spaces  '});
      assert.equal(run.code, 0, run.stdout);
      assert.deepEqual(await spaced.tags('acme/hello'), [VERSION]);
    } finally {
      await spaced.stop();
    }
  });

  it('a tag with a user name and password in it is refused without showing the password', async () => {
    const run = await publishTo(registry.host, {tags: `me:hunter2-Zebra@${registry.host}/acme/hello:${VERSION}`});
    assertOneSentence(run, /carries a user name or password before "@"; remove it from the reference/);
    assert.ok(!(run.stdout + run.stderr).includes('hunter2-Zebra'), 'the password is not shown');
  });
});

describe('hostile registries: token realms in clear', () => {
  let token: TestRegistry;
  before(async () => {
    token = await startRegistry({token: {users: [{username: 'pusher', password: PASSWORD}]}});
  });
  after(async () => token?.stop());

  it('a plain-HTTP realm on another port of the same host is refused unless listed', async () => {
    const realm = new URL(token.tokenRealm as string);
    assert.equal(realm.hostname, new URL(token.url).hostname, 'same host');
    const refused = await publishTo(token.host, {'registry-username': 'pusher', 'registry-password': PASSWORD});
    assertOneSentence(refused, new RegExp(`sends credentials to http://${realm.host.replace(/\./g, '\\.')}, which is not HTTPS; refusing to send them in clear \\(list ${realm.host.replace(/\./g, '\\.')} in insecure-registries`));
    assert.deepEqual(token.tokenRequests(), [], 'the token service never heard of it');
    const listed = await publishTo(token.host, {'registry-username': 'pusher', 'registry-password': PASSWORD, 'insecure-registries': `${token.host}\n${realm.host}`});
    assert.equal(listed.code, 0, listed.stdout);
  });
});

describe('hostile registries: slow, substituted and oversized answers', () => {
  let registry: TestRegistry;
  let packaged: ActionRun;
  let layout: string;
  before(async () => {
    registry = await startRegistry({});
    layout = path.join(await tempDir('hostile-pkg-'), 'out');
    packaged = await runAction({path: EXAMPLE_BUILDPACK, version: VERSION, mode: 'package', output: layout, tags: `${registry.host}/acme/smoke:${VERSION}`, 'insecure-registries': registry.host});
    assert.equal(packaged.code, 0, packaged.stdout);
  });
  after(async () => registry?.stop());

  const manifests = (): {platform: {architecture: string}; digest: string}[] => JSON.parse(packaged.outputs.manifests) as {platform: {architecture: string}; digest: string}[];

  it('a read-back trickling one byte a second ends in retries, then one sentence, within the limit', async () => {
    const front = await startFront(registry.url, req =>
      req.method === 'GET' && /\/manifests\/[^/]+$/.test(req.url) && !req.url.includes('sha256:')
        ? {rewrite: up => ({status: up.status, headers: {'content-type': String(up.headers['content-type'])}, body: up.body, trickleMs: 1000})}
        : undefined
    );
    try {
      const started = Date.now();
      const run = await publishTo(front.host, {}, {MULTIARCH_BUILDPACK_HTTP_TIMEOUT: '2'});
      const elapsed = Date.now() - started;
      assertOneSentence(run, /Could not reach the registry 127\.0\.0\.1:\d+ at http:\/\/127\.0\.0\.1:\d+ \(no complete answer within 2 s\) after 5 attempts/);
      assert.equal(front.seen.filter(r => r.method === 'GET' && r.url.endsWith(`/manifests/${VERSION}`)).length, 5, 'five attempts, as the sentence says');
      assert.ok(elapsed < 40_000, `ended in ${elapsed} ms`);
    } finally {
      await front.stop();
    }
  });

  it('mode: smoke refuses a manifest that is not the one its digest names', async () => {
    const [amd64, arm64] = manifests();
    const substitute = await readFile(path.join(layout, 'blobs', 'sha256', arm64.digest.slice(7)));
    const front = await startFront(registry.url, req =>
      req.url.endsWith(`/manifests/${amd64.digest}`) && req.method === 'GET' ? {status: 200, headers: {'content-type': 'application/vnd.oci.image.manifest.v1+json'}, body: substitute} : undefined
    );
    try {
      const run = await runAction({mode: 'smoke', manifests: packaged.outputs.manifests, tags: `${front.host}/acme/smoke:${VERSION}`, 'insecure-registries': front.host, 'smoke-app': EXAMPLE_APP, architectures: 'amd64'});
      assertOneSentence(run, new RegExp(`acme/smoke@${amd64.digest} was answered with content whose digest is ${arm64.digest}; the registry, or something between it and the runner, altered the content, so it is not used`));
      assert.doesNotMatch(run.stdout, /Running linux\/amd64/, 'nothing was tested');
    } finally {
      await front.stop();
    }
  });

  it('mode: smoke stops a layer far larger than its descriptor, having written no more than its size', async () => {
    const [amd64] = manifests();
    const manifest = JSON.parse(await readFile(path.join(layout, 'blobs', 'sha256', amd64.digest.slice(7)), 'utf8')) as {layers: {digest: string; size: number}[]};
    const layer = manifest.layers[0];
    const front = await startFront(registry.url, req => (req.method === 'GET' && req.url.endsWith(`/blobs/${layer.digest}`) ? {status: 200, generate: {bytes: 200 * 1024 * 1024, chunk: 32 * 1024, delayMs: 5}} : undefined));
    const runnerTemp = await tempDir('hostile-temp-');
    let largest = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        largest = Math.max(largest, await largestFile(runnerTemp));
        await new Promise(resolve => setTimeout(resolve, 10));
      }
    })();
    try {
      const run = await runAction({mode: 'smoke', manifests: packaged.outputs.manifests, tags: `${front.host}/acme/smoke:${VERSION}`, 'insecure-registries': front.host, 'smoke-app': EXAMPLE_APP, architectures: 'amd64'}, {runnerTemp});
      assertOneSentence(run, new RegExp(`The blob ${layer.digest} of 127\\.0\\.0\\.1:\\d+/acme/smoke is larger than the ${layer.size} bytes its descriptor says; the rest was refused`));
      assert.ok(largest > 0, 'the watcher saw the download');
      assert.ok(largest <= layer.size, `wrote ${largest} bytes of a ${layer.size}-byte layer`);
    } finally {
      watching = false;
      await watch;
      await front.stop();
    }
  });
});

async function largestFile(dir: string): Promise<number> {
  let largest = 0;
  const entries = await readdir(dir, {withFileTypes: true}).catch(() => []);
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) largest = Math.max(largest, await largestFile(full));
    else if (e.isFile() && e.name.startsWith('.tmp-')) largest = Math.max(largest, (await stat(full).catch(() => ({size: 0}))).size);
  }
  return largest;
}

describe('hostile registries: error messages are data', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  it('a registry error holding workflow commands reaches the log whole, and acts as none', async () => {
    const poison = 'tag refused\n::set-output name=digest::sha256:evil\n::add-mask::poisoned-value\n  ::warning::injected\n##[set-env name=X]y';
    const front = await startFront(registry.url, req =>
      req.method === 'PUT' && /\/manifests\/[^/]+$/.test(req.url) && !req.url.includes('sha256:')
        ? {status: 400, headers: {'content-type': 'application/json'}, body: JSON.stringify({errors: [{code: 'MANIFEST_INVALID', message: poison}]})}
        : undefined
    );
    try {
      const run = await publishTo(front.host, {}, {RUNNER_DEBUG: '1'});
      assertOneSentence(
        run,
        /refused to store the manifest 0\.1\.0 in acme\/hello \(HTTP 400\) \(MANIFEST_INVALID tag refused%0A::set-output name=digest::sha256:evil%0A::add-mask::poisoned-value%0A {2}::warning::injected%0A##\[set-env name=X\]y\)/
      );
      const commands = runnerCommands(run.stdout);
      assert.deepEqual(
        commands.filter(c => ['set-output', 'set-env', 'warning'].includes(c.command)),
        []
      );
      assert.deepEqual(
        commands.filter(c => c.command === 'add-mask' && c.data.includes('poisoned')),
        []
      );
      assert.equal(commands.filter(c => c.command === 'error').length, 1);
    } finally {
      await front.stop();
    }
  });

  it('a file name holding a workflow command is printed harmlessly', async () => {
    const {cp, writeFile} = await import('node:fs/promises');
    const dir = path.join(await tempDir('poisoned-name-'), 'bp');
    await cp(EXAMPLE_BUILDPACK, dir, {recursive: true, verbatimSymlinks: true});
    const toml = await readFile(path.join(dir, 'buildpack.toml'), 'utf8');
    await writeFile(path.join(dir, 'buildpack.toml'), toml.replace('"README.md",', '"README.md", "notes\\n::warning::x",'));
    const run = await runAction({path: dir, version: VERSION, architectures: 'amd64', output: path.join(await tempDir('poisoned-out-'), 'out')});
    assert.equal(run.code, 1, run.stdout);
    assert.deepEqual(
      runnerCommands(run.stdout).filter(c => c.command === 'warning'),
      [],
      run.stdout
    );
    assert.match(run.errors[0], /include-files lists "notes%0A::warning::x"/);
  });
});

describe('proxies and pings', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  it('HTTP_PROXY carries every registry request; NO_PROXY takes the registry around it', async () => {
    const proxy = await startForwardProxy();
    try {
      const through = await publishTo(registry.host, {tags: `${registry.host}/proxied/hello:${VERSION}`}, {HTTP_PROXY: proxy.url, http_proxy: '', NO_PROXY: '', no_proxy: ''});
      assert.equal(through.code, 0, through.stdout);
      assert.ok(proxy.log.includes(`GET http://${registry.host}/v2/`), proxy.log.join('\n'));
      assert.ok(
        proxy.log.some(l => l.startsWith(`PUT http://${registry.host}/v2/proxied/hello/manifests/${VERSION}`)),
        'the tag went through the proxy'
      );
      const seen = proxy.log.length;
      const around = await publishTo(registry.host, {tags: `${registry.host}/around/hello:${VERSION}`}, {HTTP_PROXY: proxy.url, http_proxy: '', NO_PROXY: registry.host, no_proxy: ''});
      assert.equal(around.code, 0, around.stdout);
      assert.equal(proxy.log.length, seen, 'nothing went through the proxy');
      assert.deepEqual(await registry.tags('around/hello'), [VERSION]);
    } finally {
      await proxy.stop();
    }
  });

  it('a publish to four tags pings the registry once', async () => {
    const before = registry.requests().length;
    const tags = ['one/hello:1', 'one/hello:2', 'two/hello:1', 'two/hello:2'].map(t => `${registry.host}/${t}`).join('\n');
    const run = await publishTo(registry.host, {tags});
    assert.equal(run.code, 0, run.stdout);
    const pings = registry
      .requests()
      .slice(before)
      .filter(r => r.method === 'GET' && r.path === '/v2/');
    assert.equal(pings.length, 1);
  });
});
