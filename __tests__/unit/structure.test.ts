/**
 * The shape of the code, checked so that it stays as docs/architecture.md draws it: every
 * source module has a test that imports it; registry/ is a neutral library; only inputs/ reads
 * INPUT_* variables; no stage imports a mode.
 */
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {describe, it} from 'node:test';
import {ROOT} from '../helpers/paths.js';

function files(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), {recursive: true, withFileTypes: true})
    .filter(e => e.isFile() && e.name.endsWith('.ts'))
    .map(e => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

const sources = files('src');
const tests = [...files('__tests__/unit'), ...files('__tests__/e2e')];

/** The modules a file imports, as repository paths (`src/oci/tar.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*(?:\/\*[^*]*\*\/\s*)?'(\.{1,2}\/[^']+)\.js'/g)].map(m => path.normalize(path.join(path.dirname(file), `${m[1]}.ts`)));
}

describe('the structure of src/', () => {
  it('gives every source module a test that imports it (index.ts: the unit test that runs the compiled entry point)', () => {
    const imported = new Set(tests.flatMap(importsOf));
    const untested = sources.filter(s => !imported.has(s) && s !== 'src/index.ts');
    assert.deepEqual(untested, []);
    assert.ok(readFileSync(path.join(ROOT, '__tests__/unit/modes.test.ts'), 'utf8').includes("'build', 'src', 'index.js'"));
  });

  it('keeps registry/ neutral: nothing of inputs, modes, plan or report', () => {
    const offending = sources
      .filter(s => s.startsWith('src/registry/'))
      .flatMap(s =>
        importsOf(s)
          .filter(i => /^src\/(inputs|modes|plan|report|publish)\//.test(i))
          .map(i => `${s} -> ${i}`)
      );
    assert.deepEqual(offending, []);
  });

  it('reads INPUT_* variables only in inputs/ (the CLI sets them; child processes are denied them)', () => {
    const code = (s: string): string => readFileSync(path.join(ROOT, s), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const mentions = sources.filter(s => code(s).includes('INPUT_'));
    assert.deepEqual(
      mentions.filter(s => !s.startsWith('src/inputs/')),
      ['src/cli/cli.ts', 'src/util/process.ts']
    );
    // The CLI only writes them (from flags), and childEnv only leaves them out.
    assert.doesNotMatch(code('src/cli/cli.ts'), /=\s*process\.env\[inputVariable|process\.env\.INPUT_/);
    assert.match(code('src/util/process.ts'), /\^\(INPUT_/);
  });

  it('lets no stage import a mode, and main.ts only orchestrate', () => {
    const offending = sources
      .filter(s => !s.startsWith('src/modes/') && s !== 'src/main.ts')
      .flatMap(s =>
        importsOf(s)
          .filter(i => i.startsWith('src/modes/'))
          .map(i => `${s} -> ${i}`)
      );
    assert.deepEqual(offending, []);
    assert.ok(readFileSync(path.join(ROOT, 'src/main.ts'), 'utf8').split('\n').length < 90);
  });

  it('has no import cycles', () => {
    const graph = new Map(sources.map(s => [s, importsOf(s).filter(i => sources.includes(i))]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, trail: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
      state.set(node, 'done');
    };
    for (const s of sources) visit(s, []);
    assert.deepEqual(cycles, []);
  });
});
