import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { NoOperationTraceWriter, parseAction, parseWorkflow } from './helpers/workflow-parser.js';
import { ROOT } from './helpers/paths.js';

const workflowsDir = path.join(ROOT, '.github', 'workflows');

describe('workflows and action.yml against the official schemas', async () => {
  const files = (await readdir(workflowsDir)).filter((f) => /\.ya?ml$/.test(f)).sort();

  it('has the CI, end-to-end and reusable publish workflows', async () => {
    assert.ok(files.includes('ci.yml') && files.includes('e2e.yml') && files.includes('publish-buildpack.yml'), files.join(', '));
    const reusable = await readFile(path.join(workflowsDir, 'publish-buildpack.yml'), 'utf8');
    assert.match(reusable, /^on:\n  workflow_call:/m);
    for (const job of ['package:', 'smoke-arm64:', 'merge:']) assert.ok(reusable.includes(`\n  ${job}\n`), job);
    for (const mode of ['package', 'smoke', 'merge']) assert.match(reusable, new RegExp(`mode: ${mode}\\n`));
  });

  for (const file of files) {
    it(`${file} is a valid workflow`, async () => {
      const content = await readFile(path.join(workflowsDir, file), 'utf8');
      const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
      const errors = result.context.errors.getErrors().map((e) => e.message);
      assert.deepEqual(errors, []);
      assert.ok(result.value, 'parsed to a template');
    });
  }

  it('the schema check can fail: an invalid workflow is refused', () => {
    const result = parseWorkflow({ name: 'bad.yml', content: 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n' }, new NoOperationTraceWriter());
    assert.ok(result.context.errors.getErrors().length > 0);
  });

  it('action.yml is a valid action', async () => {
    const content = await readFile(path.join(ROOT, 'action.yml'), 'utf8');
    const result = parseAction({ name: 'action.yml', content }, new NoOperationTraceWriter());
    assert.deepEqual(result.context.errors.getErrors().map((e) => e.message), []);
  });
});

describe('README examples', async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

  it('has YAML examples', () => assert.ok(blocks.length >= 5, `${blocks.length} blocks`));

  for (const [i, block] of blocks.entries()) {
    it(`example ${i + 1} is valid YAML, and a valid workflow when it is one`, () => {
      assert.doesNotThrow(() => parseYaml(block), `example ${i + 1}:\n${block}`);
      if (/^jobs:/m.test(block)) {
        const result = parseWorkflow({ name: `readme-${i + 1}.yml`, content: `on: push\n${block}` }, new NoOperationTraceWriter());
        assert.deepEqual(result.context.errors.getErrors().map((e) => e.message), [], block);
      }
    });
  }
});
