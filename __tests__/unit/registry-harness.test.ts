/**
 * Proves the registry harness works, using skopeo rather than project code, in each set-up:
 * anonymous HTTP, htpasswd over TLS, Bearer tokens, and a docker config.json in place of --creds.
 */
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {gzipSync} from 'node:zlib';
import {after, before, describe, it} from 'node:test';
import {pack} from 'tar-stream';
import {exec, execOk} from '../helpers/exec.js';
import {httpRequest, parseChallenge, startRegistry, unreachableHost, writeDockerConfig, type TestRegistry} from '../helpers/registry.js';

interface TinyImage {
  /** An OCI image layout holding the image under tag v1. */
  dir: string;
  manifest: Buffer;
  manifestDigest: string;
  layer: Buffer;
  layerDigest: string;
}

const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function tarOf(name: string, content: string): Promise<Buffer> {
  const archive = pack();
  archive.entry({name, mode: 0o644, mtime: new Date(0)}, content);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A one-layer OCI image layout written by hand, so the self-test depends on no project code. */
async function writeTinyImage(): Promise<TinyImage> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tiny-image-'));
  const blobs = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobs, {recursive: true});
  const writeBlob = async (data: Buffer): Promise<string> => {
    const digest = sha256(data);
    await writeFile(path.join(blobs, digest.slice('sha256:'.length)), data);
    return digest;
  };
  const tar = await tarOf('hello.txt', 'hello from the registry harness\n');
  const layer = gzipSync(tar);
  const layerDigest = await writeBlob(layer);
  const config = Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [sha256(tar)]}}));
  const configDigest = await writeBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length},
      layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length}]
    })
  );
  const manifestDigest = await writeBlob(manifest);
  const index = {
    schemaVersion: 2,
    manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: {'org.opencontainers.image.ref.name': 'v1'}}]
  };
  await writeFile(path.join(dir, 'index.json'), JSON.stringify(index));
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
  return {dir, manifest, manifestDigest, layer, layerDigest};
}

type Creds = {username: string; password: string} | null | undefined;

function push(registry: TestRegistry, image: TinyImage, reference: string, user?: Creds) {
  return exec('skopeo', ['copy', ...registry.skopeoFlags('dest', user), `oci:${image.dir}:v1`, `docker://${registry.host}/${reference}`]);
}

function inspectRaw(registry: TestRegistry, reference: string, user?: Creds) {
  return exec('skopeo', ['inspect', '--raw', ...registry.skopeoFlags('plain', user), `docker://${registry.host}/${reference}`]);
}

/** Copies the image back out of the registry and checks the layer bytes survived the round trip. */
async function assertPullsBack(registry: TestRegistry, image: TinyImage, reference: string, user?: Creds): Promise<void> {
  const out = await mkdtemp(path.join(tmpdir(), 'pulled-'));
  try {
    execOk('skopeo', ['copy', ...registry.skopeoFlags('src', user), `docker://${registry.host}/${reference}`, `dir:${out}`]);
    assert.deepEqual(await readFile(path.join(out, 'manifest.json')), image.manifest);
    assert.deepEqual(await readFile(path.join(out, image.layerDigest.slice('sha256:'.length))), image.layer);
  } finally {
    await rm(out, {recursive: true, force: true});
  }
}

/** Whether a token's access claim (decoded without verification) grants these actions. */
function grantedActions(token: string, repository: string): string[] {
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {access: {type: string; name: string; actions: string[]}[]};
  return claims.access.filter(a => a.type === 'repository' && a.name === repository).flatMap(a => a.actions);
}

describe('registry harness', () => {
  let image: TinyImage;
  before(async () => {
    image = await writeTinyImage();
  });
  after(async () => {
    await rm(image.dir, {recursive: true, force: true});
  });

  describe('anonymous over plain HTTP', () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await startRegistry();
    });
    after(() => registry.stop());

    it('listens on a kernel-chosen loopback port', () => {
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
      assert.equal(registry.url, `http://${registry.host}`);
      assert.deepEqual(registry.skopeoFlags('dest'), ['--dest-tls-verify=false']);
    });

    it('accepts a push and serves the same bytes back', async () => {
      execOk('skopeo', ['copy', ...registry.skopeoFlags('dest'), `oci:${image.dir}:v1`, `docker://${registry.host}/demo/hello:v1`]);
      assert.deepEqual(await registry.catalog(), ['demo/hello']);
      assert.deepEqual(await registry.tags('demo/hello'), ['v1']);
      assert.deepEqual(await registry.tags('demo/absent'), []);
      const manifest = await registry.manifest('demo/hello', 'v1');
      assert.equal(manifest.status, 200);
      assert.equal(manifest.digest, image.manifestDigest);
      assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.deepEqual(manifest.body, image.manifest);
      assert.equal((await registry.manifest('demo/hello', 'nope')).status, 404);
      assert.equal(inspectRaw(registry, 'demo/hello:v1').stdout, image.manifest.toString());
      await assertPullsBack(registry, image, 'demo/hello:v1');
    });

    it('logs requests, so a second push can be seen to upload nothing', () => {
      const uploads = (): number => registry.requests().filter(r => r.method === 'POST' && r.path === '/v2/demo/hello/blobs/uploads/').length;
      const before = uploads();
      assert.ok(before >= 2, `first push should have started uploads for layer and config, saw ${before}`);
      execOk('skopeo', ['copy', ...registry.skopeoFlags('dest'), `oci:${image.dir}:v1`, `docker://${registry.host}/demo/hello:v2`]);
      assert.equal(uploads(), before);
      const manifestPut = registry.requests().find(r => r.method === 'PUT' && r.path === '/v2/demo/hello/manifests/v2');
      assert.equal(manifestPut?.status, 201);
      assert.match(manifestPut.userAgent, /skopeo/);
      // The harness's own catalog/tags/manifest requests are left out.
      assert.ok(!registry.requests().some(r => r.path === '/v2/_catalog'));
    });
  });

  describe('htpasswd Basic auth over TLS', () => {
    const alice = {username: 'alice', password: 'alice-secret'};
    let registry: TestRegistry;
    let ca: string;
    before(async () => {
      registry = await startRegistry({tls: true, htpasswd: [alice]});
      ca = await readFile(registry.caFile ?? '', 'utf8');
    });
    after(() => registry.stop());

    it('serves HTTPS and challenges for Basic credentials', async () => {
      assert.equal(registry.url, `https://${registry.host}`);
      const res = await httpRequest(`${registry.url}/v2/`, {ca});
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Basic realm="harness-basic-realm"');
      const ok = await httpRequest(`${registry.url}/v2/`, {ca, headers: {Authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`}});
      assert.equal(ok.status, 200);
    });

    it('accepts a push with the right password and serves it back', async () => {
      execOk('skopeo', ['copy', ...registry.skopeoFlags('dest', alice), `oci:${image.dir}:v1`, `docker://${registry.host}/team/app:1.0`]);
      assert.equal(inspectRaw(registry, 'team/app:1.0', alice).stdout, image.manifest.toString());
      await assertPullsBack(registry, image, 'team/app:1.0', alice);
      assert.deepEqual(await registry.catalog(), ['team/app']);
      assert.deepEqual(await registry.tags('team/app'), ['1.0']);
      assert.equal((await registry.manifest('team/app', image.manifestDigest)).status, 200);
    });

    it('refuses a wrong password and no credentials', () => {
      const wrong = push(registry, image, 'team/app:bad', {username: 'alice', password: 'wrong'});
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /unauthorized|authentication required/i);
      const anonymous = inspectRaw(registry, 'team/app:1.0', null);
      assert.notEqual(anonymous.code, 0);
      assert.match(anonymous.stderr, /unauthorized|authentication required/i);
      assert.deepEqual(
        registry.requests().filter(r => r.path === '/v2/team/app/manifests/bad'),
        [],
        'nothing got as far as a manifest PUT'
      );
    });

    it('is untrusted without its CA, trusted with --cert-dir or NODE_EXTRA_CA_CERTS', () => {
      const untrusted = exec('skopeo', ['inspect', '--raw', `--creds=alice:alice-secret`, `docker://${registry.host}/team/app:1.0`]);
      assert.notEqual(untrusted.code, 0);
      assert.match(untrusted.stderr, /x509|certificate/i);
      const probe = "fetch(process.argv[1]).then((r) => console.log(r.status, r.headers.get('www-authenticate')), (e) => console.log('failed', e.cause?.code ?? e.message))";
      const env = {...process.env};
      delete env.NODE_EXTRA_CA_CERTS;
      assert.match(execOk(process.execPath, ['-e', probe, `${registry.url}/v2/`], {env}), /^failed/);
      const trusted = execOk(process.execPath, ['-e', probe, `${registry.url}/v2/`], {env: {...env, NODE_EXTRA_CA_CERTS: registry.caFile}});
      assert.equal(trusted.trim(), '401 Basic realm="harness-basic-realm"');
    });

    it('takes credentials from a docker config.json', async () => {
      const dockerConfig = await writeDockerConfig({[registry.host]: alice});
      try {
        const auth = JSON.parse(await readFile(path.join(dockerConfig, 'config.json'), 'utf8')) as {auths: Record<string, {auth: string}>};
        assert.equal(Buffer.from(auth.auths[registry.host].auth, 'base64').toString(), 'alice:alice-secret');
        const out = execOk('skopeo', ['inspect', '--raw', ...registry.skopeoFlags('plain', null), `--authfile=${path.join(dockerConfig, 'config.json')}`, `docker://${registry.host}/team/app:1.0`]);
        assert.equal(out, image.manifest.toString());
      } finally {
        await rm(dockerConfig, {recursive: true, force: true});
      }
    });
  });

  describe('Bearer tokens from the in-process token server', () => {
    const writer = {username: 'writer', password: 'writer-pw', actions: ['pull', 'push'] as ('pull' | 'push')[]};
    const reader = {username: 'reader', password: 'reader-pw', actions: ['pull'] as ('pull' | 'push')[]};
    let registry: TestRegistry;
    before(async () => {
      registry = await startRegistry({token: {users: [writer, reader]}});
    });
    after(() => registry.stop());

    const token = async (scope: string, user?: {username: string; password: string}): Promise<Response> => {
      const headers: Record<string, string> = user ? {Authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`} : {};
      return fetch(`${registry.tokenRealm}?service=${registry.tokenService}&scope=${encodeURIComponent(scope)}`, {headers});
    };

    it('challenges with the token realm and service', async () => {
      const res = await fetch(`${registry.url}/v2/`);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${registry.tokenRealm}",service="harness-registry"`);
    });

    it('lets a pull+push user push, and records its token requests', async () => {
      execOk('skopeo', ['copy', ...registry.skopeoFlags('dest', writer), `oci:${image.dir}:v1`, `docker://${registry.host}/org/tool:v1`]);
      const asked = registry.tokenRequests().filter(r => r.username === 'writer');
      assert.ok(asked.length > 0);
      assert.ok(asked.every(r => r.status === 200 && r.method === 'GET'));
      assert.ok(
        asked.some(r => r.scopes.some(scope => /^repository:org\/tool:(pull,push|push,pull)$/.test(scope))),
        JSON.stringify(asked)
      );
      assert.deepEqual(await registry.catalog(), ['org/tool']);
      assert.deepEqual(await registry.tags('org/tool'), ['v1']);
      assert.equal((await registry.manifest('org/tool', 'v1')).digest, image.manifestDigest);
    });

    it('lets a pull-only user pull but not push', async () => {
      assert.equal(inspectRaw(registry, 'org/tool:v1', reader).stdout, image.manifest.toString());
      await assertPullsBack(registry, image, 'org/tool:v1', reader);
      const denied = push(registry, image, 'org/tool:v2', reader);
      assert.notEqual(denied.code, 0);
      assert.deepEqual(await registry.tags('org/tool'), ['v1']);

      // The same refusal by hand: the token server grants only pull, and the registry answers 401 insufficient_scope.
      const body = (await (await token('repository:org/tool:push,pull', reader)).json()) as {token: string; access_token: string};
      assert.equal(body.access_token, body.token);
      assert.deepEqual(grantedActions(body.token, 'org/tool'), ['pull']);
      const res = await fetch(`${registry.url}/v2/org/tool/blobs/uploads/`, {method: 'POST', headers: {Authorization: `Bearer ${body.token}`}});
      assert.equal(res.status, 401);
      // distribution lists the scope's actions in no fixed order: pull,push or push,pull.
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
      assert.equal(challenge.scheme, 'Bearer');
      const {scope, ...rest} = challenge.params;
      assert.deepEqual(rest, {realm: registry.tokenRealm, service: 'harness-registry', error: 'insufficient_scope'});
      assert.match(scope, /^repository:org\/tool:(pull,push|push,pull)$/);
      const errors = (await res.json()) as {errors: {code: string}[]};
      assert.equal(errors.errors[0].code, 'UNAUTHORIZED');
    });

    it('refuses a wrong password at the token server', async () => {
      const res = await token('repository:org/tool:pull', {username: 'reader', password: 'wrong'});
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), {errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]});
      const failed = inspectRaw(registry, 'org/tool:v1', {username: 'writer', password: 'wrong'});
      assert.notEqual(failed.code, 0);
      assert.ok(registry.tokenRequests().some(r => r.username === 'writer' && r.status === 401));
    });

    it('gives anonymous requests a token that grants nothing', async () => {
      const res = await token('repository:org/tool:pull');
      assert.equal(res.status, 200);
      assert.deepEqual(grantedActions(((await res.json()) as {token: string}).token, 'org/tool'), []);
      const anonymous = inspectRaw(registry, 'org/tool:v1', null);
      assert.notEqual(anonymous.code, 0);
      assert.ok(registry.tokenRequests().some(r => r.username === undefined && r.status === 200));
    });

    it('keeps catalog access for the admin', async () => {
      const body = (await (await token('registry:catalog:*', writer)).json()) as {token: string};
      const res = await fetch(`${registry.url}/v2/_catalog`, {headers: {Authorization: `Bearer ${body.token}`}});
      assert.equal(res.status, 401);
      assert.deepEqual(await registry.catalog(), ['org/tool']);
    });

    it('serves OAuth password and refresh_token grants', async () => {
      const form = (fields: Record<string, string>) => ({
        method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: new URLSearchParams(fields).toString()
      });
      const realm = registry.tokenRealm ?? '';
      const first = await fetch(realm, form({grant_type: 'password', username: 'reader', password: 'reader-pw', service: 'harness-registry', scope: 'repository:org/tool:pull', client_id: 'test'}));
      assert.equal(first.status, 200);
      const granted = (await first.json()) as {access_token: string; refresh_token: string; expires_in: number};
      assert.equal(granted.expires_in, 300);
      const second = await fetch(realm, form({grant_type: 'refresh_token', refresh_token: granted.refresh_token, service: 'harness-registry', scope: 'repository:org/tool:pull,push'}));
      assert.equal(second.status, 200);
      const refreshed = (await second.json()) as {access_token: string; refresh_token: string};
      assert.deepEqual(grantedActions(refreshed.access_token, 'org/tool'), ['pull']);
      const tags = await fetch(`${registry.url}/v2/org/tool/tags/list`, {headers: {Authorization: `Bearer ${refreshed.access_token}`}});
      assert.deepEqual(await tags.json(), {name: 'org/tool', tags: ['v1']});
      assert.equal((await fetch(realm, form({grant_type: 'password', username: 'reader', password: 'nope'}))).status, 401);
      assert.equal((await fetch(realm, form({grant_type: 'refresh_token', refresh_token: 'unknown'}))).status, 401);
      const posts = registry.tokenRequests().filter(r => r.method === 'POST');
      assert.deepEqual(
        posts.map(r => [r.grantType, r.username, r.status]),
        [
          ['password', 'reader', 200],
          ['refresh_token', 'reader', 200],
          ['password', 'reader', 401],
          ['refresh_token', undefined, 401]
        ]
      );
    });

    it('takes credentials from a docker config.json', async () => {
      const dockerConfig = await writeDockerConfig({[registry.host]: reader});
      try {
        const out = execOk('skopeo', ['inspect', '--raw', ...registry.skopeoFlags('plain', null), `--authfile=${path.join(dockerConfig, 'config.json')}`, `docker://${registry.host}/org/tool:v1`]);
        assert.equal(out, image.manifest.toString());
      } finally {
        await rm(dockerConfig, {recursive: true, force: true});
      }
    });
  });

  describe('Bearer tokens with anonymous pull, signed with a kid header', () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await startRegistry({token: {users: [], anonymousPull: true, jwtHeader: 'kid'}});
    });
    after(() => registry.stop());

    it('lets the admin push and anyone pull, but not push', () => {
      execOk('skopeo', ['copy', ...registry.skopeoFlags('dest'), `oci:${image.dir}:v1`, `docker://${registry.host}/open/img:v1`]);
      assert.equal(inspectRaw(registry, 'open/img:v1', null).stdout, image.manifest.toString());
      const denied = push(registry, image, 'open/img:v2', null);
      assert.notEqual(denied.code, 0);
    });
  });

  it('unreachableHost refuses connections', async () => {
    const host = await unreachableHost();
    const [address, port] = host.split(':');
    const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = net.connect(Number(port), address);
      socket.once('connect', () => {
        socket.destroy();
        reject(new Error(`${host} accepted a connection`));
      });
      socket.once('error', resolve);
    });
    assert.equal(error.code, 'ECONNREFUSED');
  });
});
