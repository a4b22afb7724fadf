/**
 * Secret hygiene: a full publish with a distinctive password and registry-issued tokens, debug
 * logging on. Neither appears in stdout (except in the runner's own ::add-mask:: commands, which
 * the runner consumes and never shows), stderr, GITHUB_OUTPUT, the summary, the state file, or
 * any file under RUNNER_TEMP or output.
 */
import assert from 'node:assert/strict';
import {readFile, readdir} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction, type ActionRun} from '../helpers/action.js';
import {tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {startRegistry, writeDockerConfig, type TestRegistry} from '../helpers/registry.js';

const PASSWORD = 'Tr0ub4dor-and-3-horses-QX7v';

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {withFileTypes: true, recursive: true}).catch(() => []);
  return entries.filter(e => e.isFile()).map(e => path.join(e.parentPath, e.name));
}

/** Every place a secret must not be, as text. */
async function everywhere(run: ActionRun, output: string): Promise<{where: string; text: string}[]> {
  const places = [
    {
      where: 'stdout (outside ::add-mask::)',
      text: run.stdout
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
    },
    {where: 'stderr', text: run.stderr},
    {where: 'outputs', text: JSON.stringify(run.outputs)},
    {where: 'summary', text: run.summary},
    {where: 'state', text: run.state}
  ];
  for (const file of [...(await filesBelow(run.runnerTemp)), ...(await filesBelow(output))]) {
    places.push({where: file, text: (await readFile(file)).toString('latin1')});
  }
  return places;
}

describe('secrets never leak', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({token: {users: [{username: 'pusher', password: PASSWORD}]}});
  });
  after(async () => registry?.stop());

  for (const source of ['inputs', 'docker config']) {
    it(`a publish with credentials from ${source}, debug logging on`, async () => {
      const output = path.join(await tempDir('secret-out-'), 'out');
      const dockerConfig = source === 'docker config' ? await writeDockerConfig({[registry.host]: {username: 'pusher', password: PASSWORD}}) : undefined;
      const before = registry.tokenRequests().length;
      const run = await runAction(
        {
          path: EXAMPLE_BUILDPACK,
          version: '0.1.0',
          output,
          tags: `${registry.host}/secret/hello:0.1.0`,
          'insecure-registries': `${registry.host},${new URL(registry.tokenRealm as string).host}`,
          ...(source === 'inputs' ? {'registry-username': 'pusher', 'registry-password': PASSWORD} : {})
        },
        {env: {RUNNER_DEBUG: '1', ...(dockerConfig ? {DOCKER_CONFIG: dockerConfig} : {})}}
      );
      assert.equal(run.code, 0, run.stdout);
      const tokens = registry
        .tokenRequests()
        .slice(before)
        .flatMap(t => (t.issued ? [t.issued] : []));
      assert.ok(tokens.length > 0, 'tokens were issued');
      const secrets = [PASSWORD, Buffer.from(`pusher:${PASSWORD}`).toString('base64'), ...tokens];
      for (const secret of secrets) {
        for (const place of await everywhere(run, output)) assert.ok(!place.text.includes(secret), `a secret is in ${place.where}`);
      }
      // Each secret was handed to the runner to mask, once.
      for (const secret of [PASSWORD, ...tokens]) assert.ok(run.stdout.includes(`::add-mask::${secret}`), 'masked');
      // Masked once where found (the docker config's auth string may be masked twice: as read, and as sent).
      for (const secret of secrets) assert.ok(run.stdout.split(`::add-mask::${secret}\n`).length <= 3, 'masked at most twice');
      // Concurrent requests share a token per scope: one for pull, one for push.
      assert.ok(tokens.length <= 3, `${tokens.length} tokens for one repository`);
    });
  }
});
