import assert from 'node:assert/strict';
import {readFile, readdir} from 'node:fs/promises';
import path from 'node:path';
import {describe, it} from 'node:test';
import {ROOT} from '../helpers/paths.js';

describe('the committed bundle', () => {
  it('runs on Node 24, as the runner runs node24 actions', () => {
    assert.equal(process.versions.node.split('.')[0], '24');
  });

  it('is one bundle: dist/ holds index.js, its licenses and the module marker, nothing else', async () => {
    // npm test has just built dist/ from the sources; CI checks the committed one is the same.
    assert.deepEqual((await readdir(path.join(ROOT, 'dist'))).sort(), ['index.js', 'licenses.txt', 'package.json']);
    assert.deepEqual(JSON.parse(await readFile(path.join(ROOT, 'dist', 'package.json'), 'utf8')), {type: 'module'});
  });
});
