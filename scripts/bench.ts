/**
 * Benchmark: a generated buildpack of two platforms, BENCH_MIB (default 160) MiB each, half
 * incompressible, packaged and pushed by the action, next to, in the same run:
 *  - the floor: both platforms' files through `tar | gzip | sha256sum`, in parallel;
 *  - a peer: buildah (daemonless) building the same two images and pushing them as one index.
 * Wall time and peak RSS (GNU time) per run, median of BENCH_REPEAT (default 3) runs.
 */
import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startRegistry, type TestRegistry } from '../__tests__/helpers/registry.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_MIB ?? 160);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const ARCHES = ['amd64', 'arm64'];
const FILE_MIB = 10;

interface Measure {
  seconds: number;
  rssMiB?: number;
}

/** Runs a command under GNU time; returns wall seconds and the peak RSS of its largest process. */
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measure & { stdout: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-time-'));
  const report = path.join(dir, 'time');
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', report, command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
  const kib = Number((await readFile(report, 'utf8')).trim().split('\n').pop());
  await rm(dir, { recursive: true, force: true });
  return { seconds, rssMiB: kib / 1024, stdout };
}

function median(values: Measure[]): Measure {
  const sorted = [...values].sort((a, b) => a.seconds - b.seconds);
  const mid = sorted[Math.floor(sorted.length / 2)];
  return { seconds: mid.seconds, rssMiB: Math.max(...values.map((v) => v.rssMiB ?? 0)) };
}

/** Deterministic incompressible bytes: AES-256-CTR keystream. */
function randomStream(seed: string): (n: number) => Buffer {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16, 0));
  return (n) => cipher.update(Buffer.alloc(n));
}

/** Log-like text, about 6:1 compressible at gzip -6, like runtimes' text payloads. */
function textChunk(n: number, offset: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = offset; size < n; i++) {
    const line = `2026-11-23T10:${String(i % 60).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z INFO request id=${(i * 2654435761) % 4294967296} path=/api/v1/items/${i % 1000} status=${i % 13 === 0 ? 404 : 200} duration_ms=${(i * 31) % 997}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, n);
}

async function writeLargeFile(file: string, sizeMiB: number, next: (n: number, offset: number) => Buffer): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < sizeMiB; i++) {
    if (!out.write(next(MIB, i * 20000))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The generated buildpack: per platform, bin scripts and SIZE_MIB of payload, half random. */
async function generateBuildpack(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'buildpack.toml'), `api = "0.10"\n[buildpack]\n  id = "bench/big"\n  version = "1.0.0"\n${ARCHES.map((a) => `\n[[targets]]\n  os = "linux"\n  arch = "${a}"\n`).join('')}`);
  for (const arch of ARCHES) {
    const root = path.join(dir, 'linux', arch);
    await mkdir(path.join(root, 'bin'), { recursive: true });
    await mkdir(path.join(root, 'payload'), { recursive: true });
    await writeFile(path.join(root, 'bin', 'run'), '#!/bin/sh\necho "bench buildpack"\n');
    await chmod(path.join(root, 'bin', 'run'), 0o755);
    await symlink('run', path.join(root, 'bin', 'detect'));
    await symlink('run', path.join(root, 'bin', 'build'));
    const random = randomStream(arch);
    const files = Math.max(1, Math.round(SIZE_MIB / 2 / FILE_MIB));
    for (let f = 0; f < files; f++) {
      await writeLargeFile(path.join(root, 'payload', `runtime-${f}.bin`), FILE_MIB, (n) => random(n));
      await writeLargeFile(path.join(root, 'payload', `notes-${f}.log`), FILE_MIB, (n, offset) => textChunk(n, offset + f * 1_000_000 + (arch === 'arm64' ? 7 : 0)));
    }
  }
}

function actionEnv(inputs: Record<string, string>, runnerTemp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: runnerTemp, RUNNER_TOOL_CACHE: path.join(runnerTemp, 'tools') };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return env;
}

async function ours(bp: string, work: string, tags?: string, registry?: TestRegistry): Promise<Measure & { uploaded: number }> {
  const runnerTemp = await mkdtemp(path.join(work, 'runner-'));
  const outputFile = path.join(runnerTemp, 'output');
  await writeFile(outputFile, '');
  const inputs: Record<string, string> = { path: bp, output: path.join(runnerTemp, 'out'), ...(tags ? { tags, 'insecure-registries': registry?.host ?? '' } : {}) };
  const env = { ...actionEnv(inputs, runnerTemp), GITHUB_OUTPUT: outputFile };
  const result = await timed(process.execPath, [path.join(ROOT, 'dist', 'index.js')], env);
  const metadata = /metadata<<(.+)\n([\s\S]*?)\n\1/.exec(await readFile(outputFile, 'utf8'));
  const uploaded = metadata ? (JSON.parse(metadata[2]) as { push?: { bytesUploaded: number } }).push?.bytesUploaded ?? 0 : 0;
  await rm(runnerTemp, { recursive: true, force: true });
  return { ...result, uploaded };
}

async function floor(bp: string): Promise<Measure> {
  const script = ARCHES.map((a) => `(tar -C '${path.join(bp, 'linux', a)}' -cf - . | gzip -6 | sha256sum > /dev/null) &`).join('\n') + '\nwait\n';
  return timed('bash', ['-c', script]);
}

/** buildah from scratch + copy + commit per platform (in parallel), then one index pushed with --all. */
async function buildah(bp: string, work: string, registry: TestRegistry, i: number): Promise<Measure> {
  const store = await mkdtemp(path.join(work, 'buildah-'));
  const b = `buildah --root '${store}/root' --runroot '${store}/run' --storage-driver vfs`;
  const perArch = ARCHES.map(
    (a) => `( c=$(${b} from --arch ${a} --os linux scratch) && ${b} copy "$c" '${path.join(bp, 'linux', a)}' /cnb/buildpacks/bench_big/1.0.0/ >/dev/null && ${b} config --arch ${a} --os linux "$c" && ${b} commit -q --format oci "$c" bench-${a} >/dev/null ) &`,
  );
  const script = `set -e\n${perArch.join('\n')}\nwait\n${b} manifest create bench-list >/dev/null\n${ARCHES.map((a) => `${b} manifest add bench-list bench-${a} >/dev/null`).join('\n')}\n${b} manifest push -q --all --tls-verify=false bench-list docker://${registry.host}/peer/big-${i}:1.0.0 >/dev/null\n`;
  const result = await timed('bash', ['-c', script]);
  await rm(store, { recursive: true, force: true });
  return result;
}

/** `npm run cli -- --help` as a user types it (npm's own start included), and the bundle alone. */
async function cliHelp(): Promise<{ npm: Measure; bundle: Measure }> {
  const npm: Measure[] = [];
  const bundle: Measure[] = [];
  for (let i = 0; i < 5; i++) {
    npm.push(await timed('npm', ['run', '-s', 'cli', '--', '--help']));
    bundle.push(await timed(process.execPath, [path.join(ROOT, 'dist', 'index.js'), '--cli', '--help']));
  }
  return { npm: median(npm), bundle: median(bundle) };
}

async function main(): Promise<void> {
  const help = await cliHelp();
  console.log(`cli --help: npm run -s cli -- --help ${help.npm.seconds.toFixed(3)} s, node dist/index.js --cli --help ${help.bundle.seconds.toFixed(3)} s (median of 5)`);
  const helpTarget = { name: 'npm run cli -- --help < 0.5 s', ok: help.npm.seconds < 0.5, value: `${help.npm.seconds.toFixed(3)} s` };
  if (process.env.BENCH_ONLY === 'cli') {
    console.log(`${helpTarget.ok ? 'PASS' : 'FAIL'}  ${helpTarget.name}: ${helpTarget.value}`);
    if (!helpTarget.ok) process.exitCode = 1;
    return;
  }
  const work = await mkdtemp(path.join(tmpdir(), 'bench-'));
  const bp = path.join(work, 'bp');
  await mkdir(bp);
  console.log(`Generating a buildpack: ${ARCHES.length} platforms x ${SIZE_MIB} MiB (half incompressible) in ${bp}`);
  await generateBuildpack(bp);
  if (process.env.BENCH_GENERATE_ONLY) {
    console.log(bp);
    return;
  }
  const registry = await startRegistry({});
  try {
    const rows: { name: string; m: Measure; uploaded?: number; ratio?: string }[] = [];
    const floors: Measure[] = [];
    const packages: Measure[] = [];
    const pushes: (Measure & { uploaded: number })[] = [];
    const peers: Measure[] = [];
    let rerun: (Measure & { uploaded: number }) | undefined;
    for (let i = 0; i < REPEAT; i++) {
      floors.push(await floor(bp));
      packages.push(await ours(bp, work));
      pushes.push(await ours(bp, work, `${registry.host}/ours/big-${i}:1.0.0`, registry));
      rerun = await ours(bp, work, `${registry.host}/ours/big-${i}:1.0.0`, registry);
      peers.push(await buildah(bp, work, registry, i));
      console.log(`run ${i + 1}/${REPEAT}: floor ${floors[i].seconds.toFixed(2)} s, package ${packages[i].seconds.toFixed(2)} s, package+push ${pushes[i].seconds.toFixed(2)} s, buildah ${peers[i].seconds.toFixed(2)} s`);
    }
    const f = median(floors);
    const p = median(packages);
    const pp = median(pushes);
    const peer = median(peers);
    rows.push({ name: 'floor: tar, gzip -6, sha256sum piped, 2 platforms in parallel', m: f, ratio: '1.00x floor' });
    rows.push({ name: 'action: package only', m: p, ratio: `${(p.seconds / f.seconds).toFixed(2)}x floor` });
    rows.push({ name: 'action: package + push', m: pp, uploaded: pushes[0].uploaded, ratio: `${(pp.seconds / peer.seconds).toFixed(2)}x buildah` });
    rows.push({ name: 'action: re-run, nothing changed', m: rerun as Measure, uploaded: rerun?.uploaded });
    rows.push({ name: 'peer: buildah from/copy/commit + manifest push --all', m: peer, ratio: '1.00x buildah' });
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(`\nMachine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB; Node ${process.versions.node}; payload ${ARCHES.length} x ${SIZE_MIB} MiB; median of ${REPEAT}\n`);
    console.log('| Run | Wall (s) | Ratio | Peak RSS (MiB) | Bytes uploaded |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(`| ${r.name} | ${r.m.seconds.toFixed(2)} | ${r.ratio ?? ''} | ${r.m.rssMiB !== undefined && !r.name.startsWith('floor') ? r.m.rssMiB.toFixed(0) : '-'} | ${r.uploaded !== undefined ? r.uploaded.toLocaleString('en') : ''} |`);
    }
    const peakRss = Math.max(p.rssMiB ?? 0, pp.rssMiB ?? 0, rerun?.rssMiB ?? 0);
    const targets = [
      helpTarget,
      { name: 'package+push <= 0.7x buildah', ok: pp.seconds <= 0.7 * peer.seconds, value: `${(pp.seconds / peer.seconds).toFixed(2)}x` },
      { name: 'package-only <= 1.5x floor', ok: p.seconds <= 1.5 * f.seconds, value: `${(p.seconds / f.seconds).toFixed(2)}x` },
      { name: 'peak RSS <= 200 MiB', ok: peakRss <= 200, value: `${peakRss.toFixed(0)} MiB` },
      { name: 're-run uploads 0 bytes', ok: rerun?.uploaded === 0, value: `${rerun?.uploaded} bytes` },
    ];
    console.log('');
    for (const t of targets) console.log(`${t.ok ? 'PASS' : 'FAIL'}  ${t.name}: ${t.value}`);
    if (!targets.every((t) => t.ok)) process.exitCode = 1;
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
