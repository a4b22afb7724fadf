import {chmod, link, mkdir, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {tempDir} from './fixtures.js';

/** Deterministic bytes: a text-like pattern with the seed in it, so files differ. */
function bytes(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out[i] = i % 61 === 60 ? 0x0a : 0x20 + (x % 90);
  }
  return out;
}

async function file(root: string, rel: string, content: Buffer, mode = 0o644): Promise<void> {
  const target = path.join(root, rel);
  await mkdir(path.dirname(target), {recursive: true});
  await writeFile(target, content);
  await chmod(target, mode);
}

/** The fixture buildpack, the same bytes on every run and machine. */
export async function pinFixture(): Promise<string> {
  const root = await tempDir('digest-pin-');
  await file(
    root,
    'buildpack.toml',
    Buffer.from('api = "0.10"\n\n[buildpack]\n  id = "pin/fixture"\n  version = "1.2.3"\n  name = "Pinned fixture"\n\n[[targets]]\n  os = "linux"\n  arch = "amd64"\n\n[[targets]]\n  os = "linux"\n  arch = "arm64"\n')
  );
  for (const arch of ['amd64', 'arm64']) {
    await file(root, `linux/${arch}/bin/run`, Buffer.from(`#!/bin/sh\necho "pinned ${arch}"\n`), 0o755);
    await symlink('run', path.join(root, `linux/${arch}/bin/detect`));
    await symlink('run', path.join(root, `linux/${arch}/bin/build`));
    await file(root, `linux/${arch}/lib/arch.txt`, bytes(arch.length, 300));
  }
  for (let i = 0; i < 1000; i++) await file(root, `vendor/d${String(i % 10).padStart(2, '0')}/f${String(i).padStart(4, '0')}.txt`, bytes(i, 200 + (i % 900)));
  await file(root, 'vendor/edge/exactly-512.bin', bytes(1, 512));
  await file(root, 'vendor/edge/small-limit.bin', bytes(2, 256 * 1024));
  await file(root, 'vendor/edge/just-over-small.bin', bytes(3, 256 * 1024 + 1));
  await file(root, 'vendor/edge/over-a-chunk.bin', bytes(4, 3 * 1024 * 1024 + 123));
  await file(root, 'vendor/edge/empty', Buffer.alloc(0));
  await file(root, 'vendor/edge/tool.sh', Buffer.from('#!/bin/sh\nexit 0\n'), 0o755);
  await mkdir(path.join(root, 'vendor/edge/empty-dir'), {recursive: true});
  await symlink('../d01/f0001.txt', path.join(root, 'vendor/edge/link-to-f1'));
  await link(path.join(root, 'vendor/d02/f0002.txt'), path.join(root, 'vendor/d09/hard-link-to-f2.txt'));
  await file(root, `vendor/${'long-directory-name/'.repeat(5)}file-with-a-long-name.txt`, bytes(5, 100));
  await file(root, `vendor/${'x'.repeat(120)}/${'y'.repeat(150)}.txt`, bytes(6, 100));
  await file(root, 'vendor/unicode/café-ñ-日本.txt', bytes(7, 64));
  return root;
}
