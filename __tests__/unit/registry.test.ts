import assert from 'node:assert/strict';
import {chmod, mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, it} from 'node:test';
import {parseTags} from '../../src/plan/plan.js';
import {parseChallenge} from '../../src/registry/challenge.js';
import {DockerKeychain} from '../../src/registry/credentials.js';
import {distributionErrors} from '../../src/registry/errors.js';
import {retryAfterMs, isRetriableStatus} from '../../src/http/retry.js';
import {withDigest} from '../../src/registry/blobs.js';
import {apiHost, formatReference, parseReference} from '../../src/registry/reference.js';

describe('references', () => {
  const ok: [string, string, string][] = [
    ['alpine:3', 'docker.io/library/alpine:3', 'registry-1.docker.io'],
    ['acme/bp:1.2.3', 'docker.io/acme/bp:1.2.3', 'registry-1.docker.io'],
    ['index.docker.io/acme/bp:1', 'docker.io/acme/bp:1', 'registry-1.docker.io'],
    ['ghcr.io/acme/my-bp:1.2.3', 'ghcr.io/acme/my-bp:1.2.3', 'ghcr.io'],
    ['localhost/bp:x', 'localhost/bp:x', 'localhost'],
    ['127.0.0.1:5000/a/b/c:latest', '127.0.0.1:5000/a/b/c:latest', '127.0.0.1:5000'],
    ['gcr.io/p/bp@sha256:' + 'a'.repeat(64), 'gcr.io/p/bp@sha256:' + 'a'.repeat(64), 'gcr.io'],
    ['reg.example.com/a__b/c-d.e:T_1.0-rc.1', 'reg.example.com/a__b/c-d.e:T_1.0-rc.1', 'reg.example.com']
  ];
  for (const [input, normalised, host] of ok) {
    it(`${input} -> ${normalised}`, () => {
      const ref = parseReference(input, 'Input "tags"');
      assert.equal(formatReference(ref), normalised);
      assert.equal(apiHost(ref.registry), host);
    });
  }
  const bad: [string, RegExp][] = [
    ['ghcr.io/Acme/bp:1', /repository "Acme\/bp" has capital letters, which registries refuse; write ghcr\.io\/acme\/bp/],
    ['ghcr.io/acme/bp:1.2.3+build.5', /tag "1\.2\.3\+build\.5" is not a valid tag; tags cannot hold "\+".*write 1\.2\.3-build\.5/],
    ['ghcr.io/acme/bp:.hidden', /tag "\.hidden" is not a valid tag/],
    ['ghcr.io/acme/bp:' + 'x'.repeat(129), /is not a valid tag/],
    ['ghcr.io/acme//bp:1', /repository "acme\/\/bp" is not valid/],
    ['ghcr.io/acme/bp-:1', /is not valid/],
    ['ghcr.io/acme/bp@sha256:xyz', /digest "sha256:xyz" is not algorithm:hex/],
    ['', /which is empty/],
    ['me:hunter2@ghcr.io/acme/bp:1', /has "\*\*\*@ghcr\.io\/acme\/bp:1", which carries a user name or password before "@"/]
  ];
  for (const [input, message] of bad) {
    it(`rejects "${input.slice(0, 40)}"`, () => {
      assert.throws(
        () => parseReference(input, 'Input "tags"'),
        (e: Error) => e.name === 'InvalidReferenceError' && /^Input "tags" has /.test(e.message) && message.test(e.message) && !e.message.includes('hunter2')
      );
    });
  }
  it('tags need a tag, no digest, and no repeats', () => {
    assert.throws(() => parseTags(['ghcr.io/acme/bp']), /has no tag; write it with one, such as ghcr\.io\/acme\/bp:1\.2\.3/);
    assert.throws(() => parseTags(['ghcr.io/acme/bp@sha256:' + 'a'.repeat(64)]), /names a digest/);
    assert.throws(() => parseTags(['acme/bp:1', 'docker.io/acme/bp:1']), /lists docker\.io\/acme\/bp:1 twice/);
    assert.equal(parseTags(['ghcr.io/a/b:1', 'ghcr.io/a/b:latest']).length, 2);
  });
});

describe('challenges and errors', () => {
  it('parses Bearer and Basic challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error="insufficient_scope"'), {
      scheme: 'bearer',
      params: {realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push', error: 'insufficient_scope'}
    });
    assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), {scheme: 'basic', params: {realm: 'Registry Realm'}});
    assert.equal(parseChallenge(undefined), undefined);
  });
  it('reads registry error bodies', () => {
    assert.deepEqual(distributionErrors(Buffer.from('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}')), [{code: 'DENIED', message: 'requested access to the resource is denied'}]);
    assert.deepEqual(distributionErrors(Buffer.from('<html>')), []);
  });
});

describe('upload locations', () => {
  it('append the digest to the raw query, keeping opaque state as sent', () => {
    const location = new URL('https://storage.example/upload/abc?_state=a%2Bb%3D%3D&X-Amz-Signature=x%2Fy');
    assert.equal(withDigest(location, 'sha256:00').href, 'https://storage.example/upload/abc?_state=a%2Bb%3D%3D&X-Amz-Signature=x%2Fy&digest=sha256%3A00');
    assert.equal(withDigest(new URL('http://r/v2/a/blobs/uploads/1'), 'sha256:00').href, 'http://r/v2/a/blobs/uploads/1?digest=sha256%3A00');
  });
  it('retry only 408, 429 and 5xx, honouring Retry-After', () => {
    assert.deepEqual([408, 429, 500, 503, 400, 401, 403, 404, 413].map(isRetriableStatus), [true, true, true, true, false, false, false, false, false]);
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(retryAfterMs(undefined), undefined);
  });
});

describe('docker config credentials', () => {
  async function configDir(config: unknown): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-config-'));
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }
  it('reads auths by host, URL or Docker Hub index URL', async () => {
    const dir = await configDir({
      auths: {
        'https://index.docker.io/v1/': {auth: Buffer.from('hubuser:hubpass').toString('base64')},
        'ghcr.io': {username: 'gh', password: 'ghp_x'},
        'https://quay.io/v1/': {identitytoken: 'refresh-me'}
      }
    });
    const secrets: string[] = [];
    const keychain = await DockerKeychain.load({env: {DOCKER_CONFIG: dir}, onSecret: s => secrets.push(s)});
    assert.deepEqual(await keychain.credentialsFor('docker.io'), {kind: 'basic', username: 'hubuser', password: 'hubpass', source: 'docker config (https://index.docker.io/v1/)'});
    assert.deepEqual(await keychain.credentialsFor('ghcr.io'), {kind: 'basic', username: 'gh', password: 'ghp_x', source: 'docker config (ghcr.io)'});
    assert.equal((await keychain.credentialsFor('quay.io'))?.kind, 'identity-token');
    assert.equal(await keychain.credentialsFor('example.com'), undefined);
    assert.ok(
      ['hubpass', 'ghp_x', 'refresh-me'].every(s => secrets.includes(s)),
      'every secret found is handed over for masking'
    );
  });
  it('asks credential helpers, giving the server URL on stdin', async () => {
    const bin = await mkdtemp(path.join(tmpdir(), 'helpers-'));
    const helper = path.join(bin, 'docker-credential-test');
    // A real executable speaking the credential-helper protocol: echo back what it was asked for.
    await writeFile(
      helper,
      '#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "reg.example.com" ]; then printf \'{"ServerURL":"%s","Username":"u","Secret":"s3cret"}\' "$server"; else echo "credentials not found" >&2; exit 1; fi\n'
    );
    await chmod(helper, 0o755);
    const dir = await configDir({credHelpers: {'reg.example.com': 'test'}, credsStore: 'test'});
    const keychain = await DockerKeychain.load({env: {DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}`}});
    assert.deepEqual(await keychain.credentialsFor('reg.example.com'), {kind: 'basic', username: 'u', password: 's3cret', source: 'credential helper docker-credential-test'});
    // credsStore answers for the rest; "not found" means anonymous.
    assert.equal(await keychain.credentialsFor('other.example.com'), undefined);
  });
  it('stops a credential helper that hangs, with one sentence', async () => {
    const bin = await mkdtemp(path.join(tmpdir(), 'helpers-'));
    await writeFile(path.join(bin, 'docker-credential-hang'), '#!/bin/sh\nexec sleep 30\n');
    await chmod(path.join(bin, 'docker-credential-hang'), 0o755);
    const keychain = await DockerKeychain.load({env: {DOCKER_CONFIG: await configDir({credsStore: 'hang'}), PATH: `${bin}:${process.env.PATH}`}, helperTimeoutMs: 300});
    const started = Date.now();
    await assert.rejects(keychain.credentialsFor('ghcr.io'), (e: Error) => e.name === 'RegistryError' && /docker-credential-hang did not answer for ghcr\.io within 0\.3 s and was stopped/.test(e.message));
    assert.ok(Date.now() - started < 5_000, 'stopped at the limit');
  });
  it('treats a missing helper as anonymous and a broken config as an error', async () => {
    const keychain = await DockerKeychain.load({env: {DOCKER_CONFIG: await configDir({credsStore: 'does-not-exist'}), PATH: '/nonexistent'}});
    assert.equal(await keychain.credentialsFor('ghcr.io'), undefined);
    const broken = await mkdtemp(path.join(tmpdir(), 'docker-config-'));
    await writeFile(path.join(broken, 'config.json'), '{');
    await assert.rejects(DockerKeychain.load({env: {DOCKER_CONFIG: broken}}), /config\.json is not valid JSON/);
  });
});
