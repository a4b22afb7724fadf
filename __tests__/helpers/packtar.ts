/**
 * pack's layer writer, reproduced by a Go program of the tests' own (fixtures/packtar, standard
 * library only) with Go's archive/tar, the way pack v0.40 writes a buildpack or extension
 * directory: the reference the action's layers are compared with byte for byte.
 */
import {createHash} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {execOk, exec} from './exec.js';
import {tempDir} from './fixtures.js';
import {ROOT} from './paths.js';

let built: Promise<string> | undefined;

/** Compiles fixtures/packtar once per test process. */
function binary(): Promise<string> {
  built ??= (async () => {
    const out = path.join(await tempDir('packtar-'), 'packtar');
    execOk('go', ['build', '-o', out, '.'], {cwd: path.join(ROOT, '__tests__', 'fixtures', 'packtar'), env: {...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', CGO_ENABLED: '0'}});
    return out;
  })();
  return built;
}

/** The uncompressed layer pack would write for `dir`, and its diffID. */
export async function packLayer(dir: string, kind: 'buildpack' | 'extension', id: string, version: string): Promise<{tar: Buffer; diffID: string}> {
  const out = path.join(await tempDir('packtar-out-'), 'layer.tar');
  const r = exec(await binary(), [dir, kind, id, version, out], {env: {...process.env, PACKTAR_IMPL: 'both'}});
  if (r.code !== 0) throw new Error(`packtar: ${r.stderr}`);
  const tar = await readFile(out);
  return {tar, diffID: `sha256:${createHash('sha256').update(tar).digest('hex')}`};
}
