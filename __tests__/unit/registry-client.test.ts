/**
 * The registry client in-process, one protocol step at a time (go-containerregistry's
 * remote/write_test.go style), against a real registry (Debian's docker-registry) and small
 * misbehaving servers started here.
 */
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {readdir} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {Connections} from '../../src/http/client.js';
import {BlobStore} from '../../src/oci/store.js';
import {canonicalJson, sha256Digest} from '../../src/oci/digest.js';
import {MediaType, type Descriptor} from '../../src/oci/types.js';
import {blobExists, downloadBlob, mountBlob, readBlob, uploadBlob} from '../../src/registry/blobs.js';
import {RegistryClient, type ClientOptions} from '../../src/registry/client.js';
import {RegistryError} from '../../src/registry/errors.js';
import {getManifest, putManifest} from '../../src/registry/manifests.js';
import {publish} from '../../src/registry/write.js';
import {parseReference} from '../../src/registry/reference.js';
import {tempDir} from '../helpers/fixtures.js';
import {startCapture, startForwardProxy, startFront} from '../helpers/hostile.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

const direct = new Connections({httpProxy: '', httpsProxy: '', noProxy: ''});
const FAST_RETRY = {attempts: 3, baseDelayMs: 10, maxDelayMs: 20, budgetMs: 10_000};

function clientOf(host: string, options: Partial<ClientOptions> = {}): RegistryClient {
  return new RegistryClient({registry: host, insecureRegistries: [host], connections: direct, retry: FAST_RETRY, ...options});
}

async function storeWith(...contents: Buffer[]): Promise<{store: BlobStore; blobs: Descriptor[]}> {
  const store = new BlobStore(await tempDir('client-store-'));
  const blobs = [];
  for (const c of contents) blobs.push(await store.writeBytes('application/octet-stream', c));
  return {store, blobs};
}

const open = (store: BlobStore, d: Descriptor) => (start?: number, end?: number) => createReadStream(store.blobPath(d.digest), {start, end});

/** An image manifest over a config blob, and its bytes. */
function manifestOver(config: Descriptor): {bytes: Buffer; descriptor: Descriptor} {
  const bytes = canonicalJson({schemaVersion: 2, mediaType: MediaType.ImageManifest, config: {...config, mediaType: MediaType.ImageConfig}, layers: []});
  return {bytes, descriptor: {mediaType: MediaType.ImageManifest, digest: sha256Digest(bytes), size: bytes.length}};
}

describe('registry client: anonymous registry', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  it('pings /v2/ once, however many requests wait for it', async () => {
    const before = registry.requests().length;
    const client = clientOf(registry.host);
    const results = await Promise.all(Array.from({length: 8}, (_, i) => blobExists(client, `ping/r${i}`, `sha256:${'0'.repeat(64)}`)));
    assert.deepEqual(results, Array(8).fill(false));
    const pings = registry
      .requests()
      .slice(before)
      .filter(r => r.method === 'GET' && r.path === '/v2/');
    assert.equal(pings.length, 1);
  });

  it('HEAD says absent, a monolithic upload (POST then one PUT) stores it, HEAD then says present', async () => {
    const {store, blobs} = await storeWith(randomBytes(100_000));
    const client = clientOf(registry.host);
    assert.equal(await blobExists(client, 'steps/upload', blobs[0].digest), false);
    const before = registry.requests().length;
    await uploadBlob(client, 'steps/upload', blobs[0], open(store, blobs[0]));
    const sent = registry
      .requests()
      .slice(before)
      .map(r => r.method);
    assert.deepEqual(sent, ['POST', 'PUT']);
    assert.equal(await blobExists(client, 'steps/upload', blobs[0].digest), true);
  });

  it('mounts a blob from another repository of the same registry, and says false where it cannot', async () => {
    const {store, blobs} = await storeWith(randomBytes(1000));
    const client = clientOf(registry.host);
    await uploadBlob(client, 'steps/mount-source', blobs[0], open(store, blobs[0]));
    assert.equal(await mountBlob(client, 'steps/mount-target', blobs[0].digest, 'steps/mount-source'), true);
    assert.equal(await blobExists(client, 'steps/mount-target', blobs[0].digest), true);
    assert.equal(await mountBlob(client, 'steps/mount-other', blobs[0].digest, 'steps/never-had-it'), false);
  });

  it('falls back to chunked PATCH uploads after a 413 from a proxy in front', async () => {
    const front = await startFront(registry.url, req => (req.method === 'PUT' && Number(req.headers['content-length'] ?? 0) > 1024 ? {status: 413} : undefined));
    try {
      const {store, blobs} = await storeWith(randomBytes(50_000));
      const client = clientOf(front.host);
      await uploadBlob(client, 'steps/chunked', blobs[0], open(store, blobs[0]));
      assert.ok(
        front.seen.some(r => r.method === 'PATCH'),
        'sent in chunks'
      );
      assert.equal(await blobExists(client, 'steps/chunked', blobs[0].digest), true);
    } finally {
      await front.stop();
    }
  });

  it('PUTs a manifest with its own media type and reads the tag back byte for byte', async () => {
    const {store, blobs} = await storeWith(Buffer.from('{"architecture":"amd64","os":"linux"}'));
    const client = clientOf(registry.host);
    await uploadBlob(client, 'steps/manifest', blobs[0], open(store, blobs[0]));
    const manifest = manifestOver(blobs[0]);
    await putManifest(client, 'steps/manifest', '1.0.0', manifest.descriptor.mediaType, manifest.bytes);
    assert.deepEqual(await getManifest(client, 'steps/manifest', '1.0.0', [MediaType.ImageManifest]), manifest.bytes);
    assert.deepEqual(await getManifest(client, 'steps/manifest', manifest.descriptor.digest, [MediaType.ImageManifest]), manifest.bytes);
    assert.equal(await getManifest(client, 'steps/manifest', 'missing-tag', [MediaType.ImageManifest]), undefined);
  });

  it('refuses a manifest stored under another Docker-Content-Digest', async () => {
    const front = await startFront(registry.url, req => (req.method === 'PUT' && req.url.includes('/manifests/') ? {rewrite: up => ({status: up.status, headers: {'docker-content-digest': `sha256:${'f'.repeat(64)}`}})} : undefined));
    try {
      const {store, blobs} = await storeWith(Buffer.from('{"os":"linux"}'));
      const client = clientOf(front.host);
      await uploadBlob(client, 'steps/altered', blobs[0], open(store, blobs[0]));
      const manifest = manifestOver(blobs[0]);
      await assert.rejects(putManifest(client, 'steps/altered', 'x', manifest.descriptor.mediaType, manifest.bytes), (e: unknown) => e instanceof RegistryError && e.reason === 'digest-mismatch');
    } finally {
      await front.stop();
    }
  });

  it('checks everything pulled by digest: manifests, configs and layers', async () => {
    const {store, blobs} = await storeWith(Buffer.from('{"os":"linux","architecture":"arm64"}'), randomBytes(4096));
    const client = clientOf(registry.host);
    for (const b of blobs) await uploadBlob(client, 'steps/pull', b, open(store, b));
    const manifest = manifestOver(blobs[0]);
    await putManifest(client, 'steps/pull', manifest.descriptor.digest, manifest.descriptor.mediaType, manifest.bytes);
    const other = manifestOver({...blobs[1], mediaType: 'x'});
    const front = await startFront(registry.url, req => {
      if (req.url.endsWith(`/manifests/${manifest.descriptor.digest}`)) return {status: 200, headers: {'content-type': MediaType.ImageManifest}, body: other.bytes};
      if (req.url.endsWith(`/blobs/${blobs[0].digest}`)) return {status: 200, body: Buffer.alloc(blobs[0].size * 10, 0x20)};
      if (req.url.endsWith(`/blobs/${blobs[1].digest}`)) return {status: 200, generate: {bytes: 32 * 1024 * 1024, chunk: 64 * 1024}};
      return undefined;
    });
    try {
      const hostile = clientOf(front.host);
      await assert.rejects(getManifest(hostile, 'steps/pull', manifest.descriptor.digest, [MediaType.ImageManifest]), (e: unknown) => e instanceof RegistryError && e.reason === 'digest-mismatch');
      await assert.rejects(readBlob(hostile, 'steps/pull', blobs[0]), (e: unknown) => e instanceof RegistryError && e.reason === 'too-large');
      const target = new BlobStore(await tempDir('pull-target-'));
      await assert.rejects(downloadBlob(hostile, 'steps/pull', blobs[1], target), (e: unknown) => e instanceof RegistryError && e.reason === 'too-large');
      assert.deepEqual(await readdir(path.join(target.root, 'blobs', 'sha256')), [], 'nothing kept');
      // The real registry's bytes pass the same checks.
      assert.deepEqual(
        await readBlob(client, 'steps/pull', blobs[0]),
        await store
          .open(blobs[0].digest)
          .toArray()
          .then(c => Buffer.concat(c as Buffer[]))
      );
      await downloadBlob(client, 'steps/pull', blobs[1], target);
      assert.equal(await target.has(blobs[1].digest), true);
    } finally {
      await front.stop();
    }
  });

  it('publishes: content first, then each tag, read back', async () => {
    const {store, blobs} = await storeWith(Buffer.from('{"os":"linux","architecture":"amd64"}'));
    const manifest = manifestOver(blobs[0]);
    const indexBytes = canonicalJson({schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [{...manifest.descriptor, platform: {architecture: 'amd64', os: 'linux'}}]});
    const index = {descriptor: {mediaType: MediaType.ImageIndex, digest: sha256Digest(indexBytes), size: indexBytes.length}, bytes: indexBytes};
    const client = clientOf(registry.host);
    const refs = ['steps/publish-a:1', 'steps/publish-a:latest', 'steps/publish-b:1'].map(r => parseReference(`${registry.host}/${r}`, 'test'));
    const before = registry.requests().length;
    const result = await publish({store, manifests: [{...manifest, blobs}], index}, refs, () => client);
    assert.deepEqual(
      result.tags,
      refs.map(r => `${registry.host}/${r.repository}:${r.tag}`)
    );
    assert.deepEqual(result.stats, {existing: 0, mounted: 1, uploaded: 1, bytesUploaded: blobs[0].size});
    const puts = registry
      .requests()
      .slice(before)
      .filter(r => r.method === 'PUT' && r.path.includes('/manifests/'));
    assert.deepEqual(
      puts.map(r => r.path.split('/').pop()),
      [manifest.descriptor.digest, manifest.descriptor.digest, '1', 'latest', '1'],
      'tags last'
    );
  });
});

describe('registry client: authentication', () => {
  let basic: TestRegistry;
  let token: TestRegistry;
  const writer = {username: 'writer', password: '  spaced out pw  '};
  before(async () => {
    basic = await startRegistry({htpasswd: [writer]});
    token = await startRegistry({token: {users: [writer, {username: 'reader', password: 'r', actions: ['pull']}]}});
  });
  after(async () => {
    await basic?.stop();
    await token?.stop();
  });
  const realmHost = (): string => new URL(token.tokenRealm as string).host;

  it('answers a Basic challenge with the password exactly as given, and names the user it refuses', async () => {
    const ok = clientOf(basic.host, {credentials: {kind: 'basic', ...writer, source: 'test'}});
    assert.equal(await blobExists(ok, 'auth/basic', `sha256:${'0'.repeat(64)}`), false);
    const trimmed = clientOf(basic.host, {credentials: {kind: 'basic', username: 'writer', password: writer.password.trim(), source: 'test'}});
    await assert.rejects(blobExists(trimmed, 'auth/basic', `sha256:${'0'.repeat(64)}`), (e: unknown) => e instanceof RegistryError && e.reason === 'unauthorized' && e.details.auth?.kind === 'basic' && e.details.status === 401);
  });

  it('takes one Bearer token per scope set, shared by concurrent requests, with the mount source added', async () => {
    const secrets: string[] = [];
    const client = clientOf(token.host, {insecureRegistries: [token.host, realmHost()], credentials: {kind: 'basic', ...writer, source: 'test'}, onSecret: s => secrets.push(s)});
    const before = token.tokenRequests().length;
    await Promise.all(Array.from({length: 6}, () => blobExists(client, 'auth/token', `sha256:${'0'.repeat(64)}`)));
    const asked = token.tokenRequests().slice(before);
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0].scopes, ['repository:auth/token:pull']);
    await mountBlob(client, 'auth/token', `sha256:${'0'.repeat(64)}`, 'auth/elsewhere');
    assert.ok(
      token.tokenRequests().some(t => JSON.stringify(t.scopes) === JSON.stringify(['repository:auth/token:pull,push', 'repository:auth/elsewhere:pull'])),
      'the mount asks to pull from its source too'
    );
    assert.ok(asked[0].issued && secrets.includes(asked[0].issued), 'the token was handed over for masking');
  });

  it('refuses a plain-HTTP token realm unless its exact host:port is listed', async () => {
    const before = token.tokenRequests().length;
    const client = clientOf(token.host, {credentials: {kind: 'basic', ...writer, source: 'test'}});
    await assert.rejects(blobExists(client, 'auth/realm', `sha256:${'0'.repeat(64)}`), (e: unknown) => e instanceof RegistryError && e.reason === 'insecure-realm' && e.details.realm === `http://${realmHost()}`);
    // The same host on another port is not the same host:port.
    const sameHost = clientOf(token.host, {insecureRegistries: [token.host, `127.0.0.1:${Number(new URL(token.url).port) + 1}`], credentials: {kind: 'basic', ...writer, source: 'test'}});
    await assert.rejects(blobExists(sameHost, 'auth/realm', `sha256:${'0'.repeat(64)}`), (e: unknown) => e instanceof RegistryError && e.reason === 'insecure-realm');
    assert.equal(token.tokenRequests().length, before, 'the token service was never asked');
  });

  it('tells a refused password from a missing push right', async () => {
    const wrong = clientOf(token.host, {insecureRegistries: [token.host, realmHost()], credentials: {kind: 'basic', username: 'writer', password: 'nope', source: 'test'}});
    await assert.rejects(blobExists(wrong, 'auth/refused', `sha256:${'0'.repeat(64)}`), (e: unknown) => e instanceof RegistryError && e.reason === 'token-service' && e.status === 401);
    const reader = clientOf(token.host, {insecureRegistries: [token.host, realmHost()], credentials: {kind: 'basic', username: 'reader', password: 'r', source: 'test'}});
    const {store, blobs} = await storeWith(randomBytes(10));
    await assert.rejects(uploadBlob(reader, 'auth/refused', blobs[0], open(store, blobs[0])), (e: unknown) => e instanceof RegistryError && e.reason === 'denied' && e.details.insufficientScope === true && e.details.action === 'push');
  });
});

describe('registry client: hostile hosts', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({htpasswd: [{username: 'u', password: 'p4ss'}]});
  });
  after(async () => registry?.stop());

  it('sends no credentials to an upload location on another host, and asks no token of it', async () => {
    const foreign = await startCapture((_req, self) => ({status: 401, headers: {'www-authenticate': `Bearer realm="http://${self}/token",service="evil"`}}));
    const front = await startFront(registry.url, req => (req.method === 'POST' && req.url.includes('/blobs/uploads/') ? {rewrite: up => ({status: up.status, headers: {location: `${foreign.url}/upload/1?_state=x`}})} : undefined));
    try {
      const {store, blobs} = await storeWith(randomBytes(100));
      const client = clientOf(front.host, {credentials: {kind: 'basic', username: 'u', password: 'p4ss', source: 'test'}});
      await assert.rejects(uploadBlob(client, 'hostile/upload', blobs[0], open(store, blobs[0])), (e: unknown) => e instanceof RegistryError && e.reason === 'foreign-host');
      assert.ok(foreign.seen.length >= 1, 'the foreign host was reached');
      for (const req of foreign.seen) {
        assert.equal(req.headers.authorization, undefined);
        assert.ok(!req.url.startsWith('/token'), 'no token request');
        assert.ok(!JSON.stringify(req).includes(Buffer.from('u:p4ss').toString('base64')));
      }
    } finally {
      await front.stop();
      await foreign.stop();
    }
  });

  it('bounds every attempt in time, body included, and counts attempts truthfully', async () => {
    const slow = await startCapture(req => (req.url === '/v2/' ? {status: 200} : {status: 200, body: '{"schemaVersion":2}', trickleMs: 150}));
    try {
      const client = clientOf(slow.host, {timeouts: {requestMs: 400, bytesPerSecond: 1024}});
      const started = Date.now();
      await assert.rejects(getManifest(client, 'slow/x', 'latest', [MediaType.ImageManifest]), (e: unknown) => {
        assert.ok(e instanceof RegistryError, String(e));
        assert.equal(e.reason, 'unreachable');
        assert.equal(e.details.transport, 'ETIMEDOUT');
        assert.equal(e.details.attempts, 3);
        assert.match(e.message, /after 3 attempts/);
        return true;
      });
      assert.equal(slow.seen.filter(r => r.url !== '/v2/').length, 3);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await slow.stop();
    }
  });

  it('reports the attempts a retried status really took', async () => {
    const busy = await startCapture(req => (req.url === '/v2/' ? {status: 200} : {status: 503}));
    try {
      const patient = clientOf(busy.host, {retry: {attempts: 4, baseDelayMs: 5, maxDelayMs: 10, budgetMs: 10_000}});
      await assert.rejects(blobExists(patient, 'busy/x', `sha256:${'0'.repeat(64)}`), (e: unknown) => e instanceof RegistryError && e.details.attempts === 4);
      const hurried = clientOf(busy.host, {retry: {attempts: 4, baseDelayMs: 1000, maxDelayMs: 1000, budgetMs: 100}});
      await assert.rejects(blobExists(hurried, 'busy/y', `sha256:${'0'.repeat(64)}`), (e: unknown) => e instanceof RegistryError && e.details.attempts === 1);
    } finally {
      await busy.stop();
    }
  });

  it('goes through the proxy the environment names, and around it for no_proxy hosts', async () => {
    const proxy = await startForwardProxy();
    try {
      const via = new Connections({httpProxy: proxy.url, httpsProxy: '', noProxy: ''});
      const client = clientOf(registry.host, {connections: via, credentials: {kind: 'basic', username: 'u', password: 'p4ss', source: 'test'}});
      assert.equal(await blobExists(client, 'proxied/x', `sha256:${'0'.repeat(64)}`), false);
      assert.ok(proxy.log.includes(`GET http://${registry.host}/v2/`), proxy.log.join('\n'));
      const count = proxy.log.length;
      const around = new Connections({httpProxy: proxy.url, httpsProxy: '', noProxy: registry.host});
      assert.equal(await blobExists(clientOf(registry.host, {connections: around, credentials: {kind: 'basic', username: 'u', password: 'p4ss', source: 'test'}}), 'proxied/y', `sha256:${'0'.repeat(64)}`), false);
      assert.equal(proxy.log.length, count, 'no_proxy bypasses the proxy');
      await via.close();
      await around.close();
    } finally {
      await proxy.stop();
    }
  });
});
