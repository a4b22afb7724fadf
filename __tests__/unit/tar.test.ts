/** The tar writer's chunking: fixed-size chunks, files that change while read, pooled chunks. */
import assert from 'node:assert/strict';
import {readFile, writeFile} from 'node:fs/promises';
import {execOk} from '../helpers/exec.js';
import path from 'node:path';
import {describe, it} from 'node:test';
import {STREAM_CHUNK} from '../../src/oci/gzip.js';
import {ChunkPool, tarChunks, type TarEntry} from '../../src/oci/tar.js';
import {tempDir} from '../helpers/fixtures.js';

const MTIME = new Date(Date.UTC(1980, 0, 1, 0, 0, 1));

async function collect(entries: TarEntry[], pool?: ChunkPool): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarChunks(entries, {pool})) chunks.push(Buffer.from(chunk)); // copied: a pooled chunk is given back
  return chunks;
}

describe('tar chunks', () => {
  it('come in full chunks whatever the entries, the last one short, and the same bytes with or without a pool', async () => {
    const dir = await tempDir('tar-chunks-');
    const entries: TarEntry[] = [];
    for (let i = 0; i < 3000; i++) {
      const file = path.join(dir, `f${i}`);
      await writeFile(file, Buffer.alloc(700 + (i % 300), i % 251));
      entries.push({name: `/x/f${i}`, type: 'file', mode: 0o644, mtime: MTIME, size: 700 + (i % 300), source: file});
    }
    const big = path.join(dir, 'big');
    await writeFile(big, Buffer.alloc(STREAM_CHUNK * 2 + 5, 7));
    entries.splice(1500, 0, {name: '/x/big', type: 'file', mode: 0o644, mtime: MTIME, size: STREAM_CHUNK * 2 + 5, source: big});
    // A pool whose buffers start out as 0xaa: a byte the writer reserved and left unwritten shows.
    class MarkedPool extends ChunkPool {
      override acquire(): Buffer {
        return super.acquire().fill(0xaa);
      }
    }
    const plain = await collect(entries);
    const pooled = await collect(entries, new MarkedPool());
    assert.ok(Buffer.concat(pooled).equals(Buffer.concat(plain)), 'the same bytes, every reserved byte written');
    // And they are a tar GNU tar reads back: every file, with its bytes.
    const tarFile = path.join(dir, 'out.tar');
    await writeFile(tarFile, Buffer.concat(plain));
    const listed = execOk('tar', ['-tvf', tarFile]).trim().split('\n');
    assert.equal(listed.length, entries.length);
    execOk('tar', ['-xf', tarFile, '-C', dir, '--transform', 's,^/\\?x/,extracted/,', '-P']);
    assert.ok((await readFile(path.join(dir, 'extracted', 'f2999'))).equals(await readFile(path.join(dir, 'f2999'))));
    const total = plain.reduce((n, c) => n + c.length, 0);
    assert.equal(total % 512, 0);
    // Small files fill chunks but for the tail a file did not fit in; only the chunk before a
    // large file and the large file's last read may be shorter than that.
    const short = plain.slice(0, -1).filter(c => c.length < STREAM_CHUNK - 2048);
    assert.ok(short.length <= 2, `${short.length} short chunks of ${plain.length}`);
    assert.ok(plain.length >= 6);
  });

  it('refuse a file that grew or shrank since it was listed, small or large', async () => {
    const dir = await tempDir('tar-changed-');
    const file = path.join(dir, 'f');
    for (const [listed, actual, how] of [
      [100, 101, 'grew'],
      [100, 99, 'shrank'],
      [0, 1, 'grew'],
      [STREAM_CHUNK + 10, STREAM_CHUNK + 11, 'grew'],
      [STREAM_CHUNK + 10, STREAM_CHUNK + 9, 'shrank']
    ] as const) {
      await writeFile(file, Buffer.alloc(actual, 1));
      await assert.rejects(
        collect([{name: '/f', type: 'file', mode: 0o644, mtime: MTIME, size: listed, source: file}], new ChunkPool()),
        (e: NodeJS.ErrnoException) => e.code === 'ECHANGED' && e.message.includes(how),
        `${listed} listed, ${actual} on disk`
      );
    }
  });
});
