/**
 * Offline dependencies and the Actions cache, in process: downloads from a local HTTP server,
 * each checked against buildpack.toml's sha256 and fetched once however many platforms share
 * it, kept in a cache directory a later run reuses without a request; the Actions cache is a
 * best effort that is skipped without a cache service; what the post step saves travels in the
 * step's state.
 */
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {tempDir} from '../helpers/fixtures.js';
import type {Dependency} from '../../src/buildpack/dependencies.js';
import {entriesToSave, restoreFromActionsCache, saveInPostStep, saveToActionsCache} from '../../src/cache/actions-cache.js';
import {downloadDependencies} from '../../src/dependencies/download.js';
import {ExternalError, UserError} from '../../src/util/errors.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('offline dependencies', () => {
  const files: Record<string, Buffer> = {'/node-amd64.tgz': Buffer.alloc(300_000, 1), '/node-arm64.tgz': Buffer.alloc(200_000, 2)};
  const requests: string[] = [];
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = files[req.url ?? ''];
      res.writeHead(body ? 200 : 404, {'content-length': body ? body.length : 0});
      res.end(body);
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>(resolve => server.close(() => resolve())));

  const dependency = (name: string, arch: string, digest = sha256(files[`/${name}`] ?? Buffer.alloc(0))): Dependency => ({index: 0, id: 'node', version: '22.0.0', uri: `${base}/${name}`, sha256: digest, os: 'linux', arch});

  it('downloads each file once, checked, and a second run finds them in its cache without a request', async () => {
    const root = await tempDir('deps-');
    const amd64 = dependency('node-amd64.tgz', 'amd64');
    const arm64 = dependency('node-arm64.tgz', 'arm64');
    requests.length = 0;
    const first = await downloadDependencies([amd64, arm64, {...amd64, index: 1}], root, false, 'buildpack.toml');
    assert.deepEqual(requests.sort(), ['/node-amd64.tgz', '/node-arm64.tgz'], 'the shared one is fetched once');
    assert.equal(first.size, 2);
    const got = first.get(amd64.sha256 as string);
    assert.ok(got && (await readFile(got.file)).equals(files['/node-amd64.tgz']));
    assert.equal(got.size, 300_000);
    requests.length = 0;
    const second = await downloadDependencies([amd64, arm64], root, false, 'buildpack.toml');
    assert.deepEqual(requests, []);
    assert.equal(second.get(arm64.sha256 as string)?.file, first.get(arm64.sha256 as string)?.file);
  });

  it('refuses a file whose sha256 is not the one buildpack.toml gives, a missing uri and a failed download', async () => {
    const root = await tempDir('deps-bad-');
    await assert.rejects(downloadDependencies([dependency('node-amd64.tgz', 'amd64', 'ab'.repeat(32))], root, false, 'buildpack.toml'), (e: unknown) => e instanceof UserError && /but buildpack\.toml says sha256:abab/.test(e.message));
    await assert.rejects(downloadDependencies([{...dependency('node-amd64.tgz', 'amd64'), uri: undefined}], root, false, 'buildpack.toml'), (e: unknown) => e instanceof UserError && /gives dependency .* no uri/.test(e.message));
    await assert.rejects(
      downloadDependencies([dependency('missing.tgz', 'amd64', 'cd'.repeat(32))], root, false, 'buildpack.toml'),
      (e: unknown) => e instanceof ExternalError && e.cause !== undefined && /could not be downloaded from/.test(e.message)
    );
  });
});

describe('the Actions cache', () => {
  const saved = {...process.env};
  after(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('is skipped quietly without a cache service', async () => {
    delete process.env.ACTIONS_RUNTIME_TOKEN;
    delete process.env.ACTIONS_CACHE_URL;
    delete process.env.ACTIONS_RESULTS_URL;
    assert.equal(await restoreFromActionsCache([await tempDir('cache-')], 'key-1'), false);
    await saveToActionsCache([await tempDir('cache-')], 'key-1'); // no throw, nothing to do
  });

  it('hands the post step what to save through the step state', async () => {
    const state = path.join(await tempDir('state-'), 'github_state');
    await writeFile(state, '');
    process.env.GITHUB_STATE = state;
    saveInPostStep([{paths: ['/a'], key: 'k1'}]);
    saveInPostStep([{paths: ['/b'], key: 'k2'}]);
    const text = await readFile(state, 'utf8');
    // The runner hands the post step STATE_<name>: what the main step wrote last.
    const records = [...text.matchAll(/^actions-cache-entries<<(.+)\n([\s\S]*?)\n\1$/gm)].map(m => m[2]);
    process.env['STATE_actions-cache-entries'] = records[records.length - 1];
    assert.deepEqual(entriesToSave(), [
      {paths: ['/a'], key: 'k1'},
      {paths: ['/b'], key: 'k2'}
    ]);
    process.env['STATE_actions-cache-entries'] = 'not json';
    assert.deepEqual(entriesToSave(), []);
  });
});
