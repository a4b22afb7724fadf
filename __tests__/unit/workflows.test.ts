import assert from 'node:assert/strict';
import {readFile, readdir} from 'node:fs/promises';
import path from 'node:path';
import {describe, it} from 'node:test';
import {parse as parseYaml} from 'yaml';
import {spawnSync} from 'node:child_process';
import {actionlint} from '../helpers/actionlint.js';
import {NoOperationTraceWriter, parseAction, parseWorkflow} from '../helpers/workflow-parser.js';
import {ROOT} from '../helpers/paths.js';

const workflowsDir = path.join(ROOT, '.github', 'workflows');

describe('workflows and action.yml against the official schemas', async () => {
  const files = (await readdir(workflowsDir)).filter(f => /\.ya?ml$/.test(f)).sort();

  it('has the CI, end-to-end and reusable publish workflows', async () => {
    assert.ok(files.includes('ci.yml') && files.includes('e2e.yml') && files.includes('publish-buildpack.yml'), files.join(', '));
    const reusable = await readFile(path.join(workflowsDir, 'publish-buildpack.yml'), 'utf8');
    assert.match(reusable, /^on:\n {2}workflow_call:/m);
    for (const job of ['package:', 'smoke-arm64:', 'merge:']) assert.ok(reusable.includes(`\n  ${job}\n`), job);
    for (const mode of ['package', 'smoke', 'merge']) assert.match(reusable, new RegExp(`mode: ${mode}\\n`));
  });

  for (const file of files) {
    it(`${file} is a valid workflow`, async () => {
      const content = await readFile(path.join(workflowsDir, file), 'utf8');
      const result = parseWorkflow({name: file, content}, new NoOperationTraceWriter());
      const errors = result.context.errors.getErrors().map(e => e.message);
      assert.deepEqual(errors, []);
      assert.ok(result.value, 'parsed to a template');
    });
  }

  for (const file of files) {
    it(`${file} passes actionlint`, async () => {
      const content = await readFile(path.join(workflowsDir, file), 'utf8');
      assert.deepEqual(await actionlint(content, file), []);
    });
  }

  it('actionlint can fail: an unknown context property is reported', async () => {
    const findings = await actionlint('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n', 'bad.yml');
    assert.ok(
      findings.some(f => /no_such_thing/.test(f)),
      findings.join('\n')
    );
  });

  it('the schema check can fail: an invalid workflow is refused', () => {
    const result = parseWorkflow({name: 'bad.yml', content: 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n'}, new NoOperationTraceWriter());
    assert.ok(result.context.errors.getErrors().length > 0);
  });

  it('action.yml is a valid action', async () => {
    const content = await readFile(path.join(ROOT, 'action.yml'), 'utf8');
    const result = parseAction({name: 'action.yml', content}, new NoOperationTraceWriter());
    assert.deepEqual(
      result.context.errors.getErrors().map(e => e.message),
      []
    );
  });
});

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}

interface Job {
  if?: string;
  env?: Record<string, string>;
  permissions?: unknown;
  steps: Step[];
}

describe('the reusable workflow, as callers call it', async () => {
  const text = await readFile(path.join(workflowsDir, 'publish-buildpack.yml'), 'utf8');
  const workflow = parseYaml(text) as {permissions?: unknown; on: {workflow_call: {secrets: Record<string, {required?: boolean}>}}; jobs: Record<string, Job>};

  it('needs no secret, and names none with a hyphen (secrets: inherit can pass them)', () => {
    const secrets = workflow.on.workflow_call.secrets;
    assert.ok(Object.keys(secrets).length >= 2, 'logins for two registries');
    for (const [name, secret] of Object.entries(secrets)) {
      assert.match(name, /^[A-Z0-9_]+$/, name);
      assert.notEqual(secret.required, true, `${name} is optional`);
    }
  });

  it('asks for no permissions of its own, so callers grant only what they push to', () => {
    assert.equal(workflow.permissions, undefined);
    for (const [name, job] of Object.entries(workflow.jobs)) assert.equal(job.permissions, undefined, name);
  });

  it('passes no password to the action: it logs in with docker/login-action, only when the secret is set', () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const action = job.steps.filter(s => s.uses === './.multiarch-buildpack-action');
      assert.equal(action.length, 1, `${name} runs the action once`);
      for (const step of action) {
        assert.ok(!Object.keys(step.with ?? {}).some(k => /password|username/.test(k)), `${name}: ${JSON.stringify(step.with)}`);
      }
      const logins = job.steps.filter(s => s.uses?.startsWith('docker/login-action@'));
      assert.equal(logins.length, 2, name);
      for (const login of logins) {
        assert.match(login.if ?? '', /^env\.HAS_REGISTRY(_2)?_PASSWORD == 'true'$/, `${name} logs in only with a secret`);
        const flag = /HAS_REGISTRY(_2)?_PASSWORD/.exec(login.if ?? '')?.[0] as string;
        assert.match(job.env?.[flag] ?? '', /^\$\{\{ secrets\.REGISTRY(_2)?_PASSWORD != '' \}\}$/);
        assert.ok(job.steps.indexOf(login) < job.steps.indexOf(action[0]), 'before the action');
      }
    }
  });

  it("gives the action only inputs action.yml declares; sbom reaches the package job, whose files become the artifact 'sboms'", async () => {
    const declared = Object.keys((parseYaml(await readFile(path.join(ROOT, 'action.yml'), 'utf8')) as {inputs: Record<string, unknown>}).inputs);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      for (const step of job.steps.filter(s => s.uses === './.multiarch-buildpack-action')) {
        for (const key of Object.keys(step.with ?? {})) assert.ok(declared.includes(key), `${name} passes ${key}, which action.yml does not declare`);
      }
    }
    const steps = workflow.jobs.package.steps;
    const action = steps.find(s => s.uses === './.multiarch-buildpack-action') as Step;
    assert.equal(action.with?.sbom, '${{ inputs.sbom }}');
    const upload = steps.find(s => s.uses?.startsWith('actions/upload-artifact@')) as Step;
    assert.ok(steps.indexOf(upload) > steps.indexOf(action), 'after the action');
    assert.equal(upload.if, 'inputs.sbom');
    assert.deepEqual(upload.with, {name: 'sboms', path: `\${{ steps.${action.id}.outputs.layout }}/*.sbom.cdx.json`, 'if-no-files-found': 'error'});
  });

  it("runs the action at the workflow's own commit, never at a floating tag", () => {
    assert.doesNotMatch(text, /uses: paketo\/multiarch-buildpack-action@/);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const resolve = job.steps.findIndex(s => s.id === 'action');
      const checkout = job.steps.findIndex(s => s.with?.path === '.multiarch-buildpack-action');
      const run = job.steps.findIndex(s => s.uses === './.multiarch-buildpack-action');
      assert.ok(resolve >= 0 && resolve < checkout && checkout < run, `${name}: resolve, check out, run`);
      assert.equal(job.steps[checkout].with?.ref, '${{ steps.action.outputs.sha }}');
      assert.equal(job.steps[checkout].with?.repository, '${{ steps.action.outputs.repository }}');
      assert.match(job.steps[resolve].env?.WORKFLOW_SHA ?? '', /job\)\)\.workflow_sha/);
      // The buildpack is checked out beside the action, so the action's files never ship in it.
      assert.ok(
        job.steps.some(s => s.uses?.startsWith('actions/checkout@') && s.with?.path === 'buildpack'),
        name
      );
    }
  });

  it('resolves the commit, and fails with one sentence when the runner gives none', () => {
    const script = workflow.jobs.package.steps.find(s => s.id === 'action')?.run as string;
    const resolve = (env: Record<string, string>) => {
      const out = path.join(ROOT, 'build', `resolve-${Math.random()}.txt`);
      const r = spawnSync('bash', ['-e', '-c', script], {env: {PATH: process.env.PATH, GITHUB_OUTPUT: out, OVERRIDE: '', WORKFLOW_SHA: '', WORKFLOW_REPOSITORY: '', LEGACY_SHA: '', ...env}, encoding: 'utf8'});
      const output = r.status === 0 ? spawnSync('cat', [out], {encoding: 'utf8'}).stdout : '';
      return {code: r.status, stdout: r.stdout, output};
    };
    assert.match(resolve({WORKFLOW_SHA: 'a'.repeat(40), WORKFLOW_REPOSITORY: 'fork/action'}).output, new RegExp(`sha=${'a'.repeat(40)}\nrepository=fork/action\n`));
    assert.match(resolve({LEGACY_SHA: 'b'.repeat(40)}).output, new RegExp(`sha=${'b'.repeat(40)}\nrepository=paketo/multiarch-buildpack-action\n`));
    assert.match(resolve({WORKFLOW_SHA: 'a'.repeat(40), OVERRIDE: 'v1.4.0'}).output, /sha=v1\.4\.0\n/);
    const empty = resolve({});
    assert.equal(empty.code, 1);
    assert.match(empty.stdout, /^::error::Could not tell which commit of multiarch-buildpack-action this workflow is .*set the action-ref input/m);
  });

  it('guards the merge with !cancelled(), not always()', () => {
    assert.match(workflow.jobs.merge.if ?? '', /^!cancelled\(\) && needs\.package\.result == 'success'/);
    assert.doesNotMatch(text, /always\(\)/);
  });
});

describe('README examples', async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map(m => m[1]);

  it('has YAML examples', () => assert.ok(blocks.length >= 5, `${blocks.length} blocks`));

  for (const [i, block] of blocks.entries()) {
    it(`example ${i + 1} is valid YAML, and a valid workflow when it is one`, () => {
      assert.doesNotThrow(() => parseYaml(block), `example ${i + 1}:\n${block}`);
      if (/^jobs:/m.test(block)) {
        const content = /^on:/m.test(block) ? block : `on: push\n${block}`;
        const result = parseWorkflow({name: `readme-${i + 1}.yml`, content}, new NoOperationTraceWriter());
        assert.deepEqual(
          result.context.errors.getErrors().map(e => e.message),
          [],
          block
        );
      }
    });
    it(`example ${i + 1} passes actionlint`, async () => {
      // A step list alone is linted inside a job of its own.
      const content = /^jobs:/m.test(block) ? (/^on:/m.test(block) ? block : `on: push\n${block}`) : `on: push\njobs:\n  example:\n    runs-on: ubuntu-latest\n    steps:\n${block.replace(/^/gm, '      ')}`;
      const findings = /^- /m.test(block) || /^jobs:/m.test(block) ? await actionlint(content, `readme-${i + 1}.yml`) : [];
      assert.deepEqual(findings, [], content);
    });
  }
});
