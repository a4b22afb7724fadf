import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/paths.js';

describe('the committed bundle', () => {
  it('runs on Node 24, as the runner runs node24 actions', () => {
    assert.equal(process.versions.node.split('.')[0], '24');
  });

  it('is exactly what the sources build to (rebuild with npm run build and commit dist/)', async () => {
    // The tests run from build/, which `tsc` has just produced from src/; bundle it afresh.
    const out = await mkdtemp(path.join(tmpdir(), 'dist-check-'));
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'ncc'), ['build', 'build/src/index.js', '-o', out, '--license', 'licenses.txt', '--quiet'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    const committed = (await readdir(path.join(ROOT, 'dist'))).sort();
    assert.deepEqual((await readdir(out)).sort(), committed);
    for (const file of committed) {
      const fresh = await readFile(path.join(out, file));
      const inRepo = await readFile(path.join(ROOT, 'dist', file));
      assert.ok(fresh.equals(inRepo), `dist/${file} is stale: run npm run build and commit dist/`);
    }
  });
});
