/**
 * Reliability: publishes through a proxy (test code) that fails a share of requests in every way
 * registries fail (503, 429 with Retry-After, 408, resets before and after the registry acted),
 * a watcher that never sees a tag resolve to an incomplete index, and a publish killed mid-upload.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {startProxy, type ProxyRule, type TestProxy} from '../helpers/proxy.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

const PUBLISHES = 20;
const FAULTS = ['503', '429', 'reset-after', '408', 'reset-before', '500'] as const;

/** One request in seven fails, cycling through every kind of fault: about 14%. */
const everySeventh: ProxyRule = (_req, n) => {
  if (n % 7 !== 3) return 'pass';
  const fault = FAULTS[Math.floor(n / 7) % FAULTS.length];
  if (fault === 'reset-after' || fault === 'reset-before') return fault;
  const headers: Record<string, string> = fault === '429' ? {'Retry-After': '1'} : {};
  return {status: Number(fault), headers};
};

function get(url: string, method = 'GET', accept?: string): Promise<{status: number; body: Buffer}> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method, headers: accept ? {Accept: accept} : {}}, res => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks)}));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls every tag of every repository straight from the registry and checks that what each tag
 * resolves to is complete: every child manifest and every blob it references is there.
 */
function watchTags(registry: TestRegistry): {stop: () => Promise<{checks: number; violations: string[]}>} {
  const violations: string[] = [];
  let checks = 0;
  let running = true;
  const accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';
  const loop = (async () => {
    while (running) {
      const catalog = JSON.parse((await get(`${registry.url}/v2/_catalog`)).body.toString()) as {repositories?: string[]};
      for (const repo of catalog.repositories ?? []) {
        const list = JSON.parse((await get(`${registry.url}/v2/${repo}/tags/list`)).body.toString()) as {tags?: string[]};
        for (const tag of list.tags ?? []) {
          const index = await get(`${registry.url}/v2/${repo}/manifests/${tag}`, 'GET', accept);
          const parsed = JSON.parse(index.body.toString()) as {manifests?: {digest: string}[]};
          for (const child of parsed.manifests ?? []) {
            const manifest = await get(`${registry.url}/v2/${repo}/manifests/${child.digest}`, 'GET', accept);
            if (manifest.status !== 200) violations.push(`${repo}:${tag} -> missing manifest ${child.digest}`);
            const m = JSON.parse(manifest.body.toString() || '{}') as {config?: {digest: string}; layers?: {digest: string}[]};
            for (const blob of [m.config, ...(m.layers ?? [])].filter(Boolean) as {digest: string}[]) {
              if ((await get(`${registry.url}/v2/${repo}/blobs/${blob.digest}`, 'HEAD')).status !== 200) violations.push(`${repo}:${tag} -> missing blob ${blob.digest}`);
            }
          }
          checks++;
        }
      }
      await new Promise(r => setTimeout(r, 20));
    }
  })();
  return {stop: async () => ((running = false), await loop, {checks, violations})};
}

describe('publishing through injected faults', () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let reference: ActionRun;
  const runs: ActionRun[] = [];
  let watched: {checks: number; violations: string[]};
  let seconds = 0;

  before(async () => {
    registry = await startRegistry({});
    // The digest without faults, published straight to the registry.
    reference = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', output: path.join(await tempDir('ref-'), 'out'), tags: `${registry.host}/clean/hello:0.1.0`, 'insecure-registries': registry.host});
    assert.equal(reference.code, 0, reference.stdout);
    proxy = await startProxy(registry.url, everySeventh);
    const watcher = watchTags(registry);
    const started = Date.now();
    // Two at a time (this machine has two cores), each into a fresh repository and a shared one.
    for (let i = 0; i < PUBLISHES; i += 2) {
      runs.push(
        ...(await Promise.all(
          [i, i + 1].map(async n =>
            runAction({
              path: EXAMPLE_BUILDPACK,
              version: '0.1.0',
              output: path.join(await tempDir('faulty-'), 'out'),
              tags: `${proxy.host}/faults/run-${n}:0.1.0\n${proxy.host}/faults/shared:latest`,
              'insecure-registries': proxy.host
            })
          )
        ))
      );
    }
    seconds = (Date.now() - started) / 1000;
    watched = await watcher.stop();
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it(`all ${PUBLISHES} publishes succeed with the digest of a fault-free publish`, () => {
    for (const [i, run] of runs.entries()) assert.equal(run.code, 0, `publish ${i}:\n${run.stdout}\n${run.stderr}`);
    assert.deepEqual(new Set(runs.map(r => r.outputs.digest)), new Set([reference.outputs.digest]));
  });

  it('at least 10% of requests were faults of every kind, and retries were counted', () => {
    const faults = proxy.requests.filter(r => r.fault);
    const share = faults.length / proxy.requests.length;
    assert.ok(share >= 0.1, `${(share * 100).toFixed(1)}% faults`);
    for (const kind of FAULTS)
      assert.ok(
        faults.some(f => f.fault === kind),
        `a ${kind} fault was injected`
      );
    const retries = runs.reduce((sum, r) => sum + (JSON.parse(r.outputs.metadata) as {push: {retries: number}}).push.retries, 0);
    assert.ok(retries >= faults.length * 0.8, `${retries} retries for ${faults.length} faults`);
    // Figures for the README's Reliability section.
    console.log(`reliability: ${PUBLISHES} publishes, ${proxy.requests.length} requests, ${faults.length} faults (${(share * 100).toFixed(1)}%), ${retries} retries, ${seconds.toFixed(1)} s, ${watched.checks} tag checks`);
  });

  it('a watcher polling the tags never saw one resolve to an incomplete index', () => {
    assert.ok(watched.checks > 10, `${watched.checks} checks`);
    assert.deepEqual(watched.violations, []);
  });

  it('each repository holds only the tags asked for', async () => {
    for (let n = 0; n < PUBLISHES; n++) assert.deepEqual(await registry.tags(`faults/run-${n}`), ['0.1.0']);
    assert.deepEqual(await registry.tags('faults/shared'), ['latest']);
  });
});

describe('an interrupted publish', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  it('killed mid-upload writes no tag, and a re-run completes with the same digest', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>(resolve => (release = resolve));
    let sawUpload: () => void = () => undefined;
    const uploading = new Promise<void>(resolve => (sawUpload = resolve));
    // Hold the third blob upload, so two blobs are stored and the publish stops in the middle.
    let uploads = 0;
    const proxy = await startProxy(registry.url, req => {
      if (req.method === 'PUT' && req.url?.includes('/blobs/uploads/') && ++uploads === 3) {
        sawUpload();
        return {hold: held};
      }
      return 'pass';
    });
    try {
      const tags = `${proxy.host}/interrupted/hello:0.1.0`;
      const controller = new AbortController();
      const killed = runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', output: path.join(await tempDir('killed-'), 'out'), tags, 'insecure-registries': proxy.host}, {signal: controller.signal});
      await uploading;
      // Kill only once the registry has stored the uploads before the held one.
      for (let i = 0; i < 200 && registry.requests().filter(r => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.status === 201).length < 2; i++) {
        await new Promise(r => setTimeout(r, 25));
      }
      controller.abort();
      const first = await killed;
      release();
      assert.notEqual(first.code, 0, 'the first run was killed');
      assert.deepEqual(await registry.tags('interrupted/hello'), [], 'no tag from the killed run');
      const second = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', output: path.join(await tempDir('rerun-'), 'out'), tags, 'insecure-registries': proxy.host});
      assert.equal(second.code, 0, second.stdout);
      const clean = await runAction({path: EXAMPLE_BUILDPACK, version: '0.1.0', output: path.join(await tempDir('clean-'), 'out')});
      assert.equal(second.outputs.digest, clean.outputs.digest);
      const stats = (JSON.parse(second.outputs.metadata) as {push: {existing: number; uploaded: number}}).push;
      assert.ok(stats.existing >= 2, `the blobs the killed run stored were reused (${JSON.stringify(stats)})`);
      assert.deepEqual(await registry.tags('interrupted/hello'), ['0.1.0']);
    } finally {
      release();
      await proxy.stop();
    }
  });
});

describe('a token refused mid-publish', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({token: {users: [{username: 'pusher', password: 'pw'}]}});
  });
  after(async () => registry?.stop());

  it('re-authenticates with a fresh token and completes', async () => {
    // The second blob upload is refused as an expired token would be: 401 with a Bearer challenge.
    let uploads = 0;
    const challenge = `Bearer realm="${registry.tokenRealm}",service="${registry.tokenService}",scope="repository:expiring/hello:pull,push",error="invalid_token"`;
    const proxy = await startProxy(registry.url, req => (req.method === 'PUT' && req.url?.includes('/blobs/uploads/') && ++uploads === 2 ? {status: 401, headers: {'WWW-Authenticate': challenge}} : 'pass'));
    try {
      const before = registry.tokenRequests().length;
      const run = await runAction({
        path: EXAMPLE_BUILDPACK,
        version: '0.1.0',
        output: path.join(await tempDir('expiring-'), 'out'),
        tags: `${proxy.host}/expiring/hello:0.1.0`,
        'insecure-registries': `${proxy.host},${new URL(registry.tokenRealm as string).host}`,
        'registry-username': 'pusher',
        'registry-password': 'pw'
      });
      assert.equal(run.code, 0, run.stdout);
      assert.ok(
        proxy.requests.some(r => r.fault === '401'),
        'a 401 was injected'
      );
      const pushTokens = registry
        .tokenRequests()
        .slice(before)
        .filter(t => t.scopes.some(s => s.endsWith(':pull,push')));
      assert.ok(pushTokens.length >= 2, `a fresh push token was fetched (${pushTokens.length})`);
      assert.deepEqual(await registry.tags('expiring/hello'), ['0.1.0']);
    } finally {
      await proxy.stop();
    }
  });
});
