/**
 * Benchmark, all in one run on this machine:
 *  - large files: a generated buildpack of two platforms, BENCH_MIB (default 160) MiB each, half
 *    incompressible, packaged and pushed by the action, next to
 *      - the deflate floor: Node's own zlib (level 6, the action's compressor) deflating both
 *        platforms' tar streams (GNU tar to a pipe) in parallel, no hashing, no disk writes;
 *      - the GNU floor: `tar | gzip -6 | sha256sum` of both platforms in parallel;
 *      - a peer: buildah (daemonless) building the same two images and pushing them as one index;
 *    and the time from start to the first blob byte on the wire when publishing;
 *  - many files: 20,000 and 100,000 files of 1 KiB in 200 folders, shared by both platforms,
 *    packaged by the action next to `tar | gzip -6 | sha256sum` of each platform's tree in parallel;
 *  - the CLI: `npm run cli -- --help`.
 * Wall time and peak RSS (GNU time) per run; the median of BENCH_REPEAT (default 3) runs, with
 * the spread (min-max). BENCH_ONLY=cli|large|files runs one part.
 */
import {spawn} from 'node:child_process';
import {createCipheriv} from 'node:crypto';
import {createWriteStream} from 'node:fs';
import {chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile} from 'node:fs/promises';
import {availableParallelism, cpus, tmpdir, totalmem} from 'node:os';
import path from 'node:path';
import {once} from 'node:events';
import {fileURLToPath} from 'node:url';
import net from 'node:net';
import {startRegistry, type TestRegistry} from '../__tests__/helpers/registry.js';

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
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measure & {stdout: string}> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-time-'));
  const report = path.join(dir, 'time');
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', report, command, ...args], {env, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
  const kib = Number((await readFile(report, 'utf8')).trim().split('\n').pop());
  await rm(dir, {recursive: true, force: true});
  return {seconds, rssMiB: kib / 1024, stdout};
}

interface Summary extends Measure {
  min: number;
  max: number;
}

/** The median time, its spread, and the largest peak RSS of the runs. */
function median(values: Measure[]): Summary {
  const sorted = [...values].sort((a, b) => a.seconds - b.seconds);
  const mid = sorted[Math.floor(sorted.length / 2)];
  return {seconds: mid.seconds, min: sorted[0].seconds, max: sorted[sorted.length - 1].seconds, rssMiB: Math.max(...values.map(v => v.rssMiB ?? 0))};
}

function spread(m: Summary): string {
  return `${m.min.toFixed(2)}-${m.max.toFixed(2)}`;
}

/** Deterministic incompressible bytes: AES-256-CTR keystream. */
function randomStream(seed: string): (n: number) => Buffer {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16, 0));
  return n => cipher.update(Buffer.alloc(n));
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
  await writeFile(path.join(dir, 'buildpack.toml'), `api = "0.10"\n[buildpack]\n  id = "bench/big"\n  version = "1.0.0"\n${ARCHES.map(a => `\n[[targets]]\n  os = "linux"\n  arch = "${a}"\n`).join('')}`);
  for (const arch of ARCHES) {
    const root = path.join(dir, 'linux', arch);
    await mkdir(path.join(root, 'bin'), {recursive: true});
    await mkdir(path.join(root, 'payload'), {recursive: true});
    await writeFile(path.join(root, 'bin', 'run'), '#!/bin/sh\necho "bench buildpack"\n');
    await chmod(path.join(root, 'bin', 'run'), 0o755);
    await symlink('run', path.join(root, 'bin', 'detect'));
    await symlink('run', path.join(root, 'bin', 'build'));
    const random = randomStream(arch);
    const files = Math.max(1, Math.round(SIZE_MIB / 2 / FILE_MIB));
    for (let f = 0; f < files; f++) {
      await writeLargeFile(path.join(root, 'payload', `runtime-${f}.bin`), FILE_MIB, n => random(n));
      await writeLargeFile(path.join(root, 'payload', `notes-${f}.log`), FILE_MIB, (n, offset) => textChunk(n, offset + f * 1_000_000 + (arch === 'arm64' ? 7 : 0)));
    }
  }
}

function actionEnv(inputs: Record<string, string>, runnerTemp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: runnerTemp, RUNNER_TOOL_CACHE: path.join(runnerTemp, 'tools')};
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return env;
}

/**
 * A TCP pass-through to the registry that notes when the first blob bytes go by (a PATCH or PUT
 * to /blobs/uploads/): the time to first byte on the wire of a publish.
 */
async function wireWatch(registry: TestRegistry): Promise<{host: string; firstBlobAt(): number | undefined; reset(): void; close(): Promise<void>}> {
  const [targetHost, targetPort] = registry.host.split(':');
  let first: number | undefined;
  const server = net.createServer(client => {
    const upstream = net.connect(Number(targetPort), targetHost);
    client.on('data', (data: Buffer) => {
      if (first === undefined && /^(PATCH|PUT) \/v2\/\S+\/blobs\/uploads\//.test(data.subarray(0, 200).toString('latin1'))) first = Date.now();
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    firstBlobAt: () => first,
    reset: () => (first = undefined),
    close: () => new Promise(resolve => server.close(() => resolve()))
  };
}

async function ours(bp: string, work: string, tags?: string, registryHost?: string, extra: Record<string, string> = {}): Promise<Measure & {uploaded: number; startedAt: number}> {
  const runnerTemp = await mkdtemp(path.join(work, 'runner-'));
  const outputFile = path.join(runnerTemp, 'output');
  await writeFile(outputFile, '');
  const inputs: Record<string, string> = {path: bp, output: path.join(runnerTemp, 'out'), ...(tags ? {tags, 'insecure-registries': registryHost ?? ''} : {}), ...extra};
  const env = {...actionEnv(inputs, runnerTemp), GITHUB_OUTPUT: outputFile};
  const startedAt = Date.now();
  const result = await timed(process.execPath, [path.join(ROOT, 'dist', 'index.js')], env);
  const metadata = /metadata<<(.+)\n([\s\S]*?)\n\1/.exec(await readFile(outputFile, 'utf8'));
  const uploaded = metadata ? ((JSON.parse(metadata[2]) as {push?: {bytesUploaded: number}}).push?.bytesUploaded ?? 0) : 0;
  await rm(runnerTemp, {recursive: true, force: true});
  return {...result, uploaded, startedAt};
}

/** `tar | gzip -6 | sha256sum` of each directory, in parallel. */
async function floor(dirs: string[]): Promise<Measure> {
  const script = dirs.map(d => `(tar -C '${d}' -cf - . | gzip -6 | sha256sum > /dev/null) &`).join('\n') + '\nwait\n';
  return timed('bash', ['-c', script]);
}

/** Node's zlib at level 6 over GNU tar's stream of each directory, in parallel; nothing else. */
async function deflateFloor(dirs: string[], work: string): Promise<Measure> {
  const script = path.join(work, 'deflate-floor.mjs');
  await writeFile(
    script,
    [
      "import { spawn } from 'node:child_process';",
      "import { createDeflateRaw } from 'node:zlib';",
      "import { Writable } from 'node:stream';",
      "import { pipeline } from 'node:stream/promises';",
      `const dirs = ${JSON.stringify(dirs)};`,
      "await Promise.all(dirs.map((dir) => pipeline(spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout, createDeflateRaw({ level: 6, chunkSize: 1 << 20 }), new Writable({ write(_c, _e, cb) { cb(); } }))));",
      ''
    ].join('\n')
  );
  return timed(process.execPath, [script]);
}

/** buildah from scratch + copy + commit per platform (in parallel), then one index pushed with --all. */
async function buildah(bp: string, work: string, registry: TestRegistry, i: number): Promise<Measure> {
  const store = await mkdtemp(path.join(work, 'buildah-'));
  const b = `buildah --root '${store}/root' --runroot '${store}/run' --storage-driver vfs`;
  const perArch = ARCHES.map(
    a =>
      `( c=$(${b} from --arch ${a} --os linux scratch) && ${b} copy "$c" '${path.join(bp, 'linux', a)}' /cnb/buildpacks/bench_big/1.0.0/ >/dev/null && ${b} config --arch ${a} --os linux "$c" && ${b} commit -q --format oci "$c" bench-${a} >/dev/null ) &`
  );
  const script = `set -e\n${perArch.join('\n')}\nwait\n${b} manifest create bench-list >/dev/null\n${ARCHES.map(a => `${b} manifest add bench-list bench-${a} >/dev/null`).join('\n')}\n${b} manifest push -q --all --tls-verify=false bench-list docker://${registry.host}/peer/big-${i}:1.0.0 >/dev/null\n`;
  const result = await timed('bash', ['-c', script]);
  await rm(store, {recursive: true, force: true});
  return result;
}

/** `npm run cli -- --help` as a user types it (npm's own start included), and the bundle alone. */
async function cliHelp(): Promise<{npm: Measure; bundle: Measure}> {
  const npm: Measure[] = [];
  const bundle: Measure[] = [];
  for (let i = 0; i < 5; i++) {
    npm.push(await timed('npm', ['run', '-s', 'cli', '--', '--help']));
    bundle.push(await timed(process.execPath, [path.join(ROOT, 'dist', 'index.js'), '--cli', '--help']));
  }
  return {npm: median(npm), bundle: median(bundle)};
}

/** N files of 1 KiB in 200 folders, shared by both platforms (a vendored tree), and each platform's bin/. */
async function generateManyFiles(dir: string, count: number): Promise<void> {
  await writeFile(path.join(dir, 'buildpack.toml'), `api = "0.10"\n[buildpack]\n  id = "bench/many"\n  version = "1.0.0"\n${ARCHES.map(a => `\n[[targets]]\n  os = "linux"\n  arch = "${a}"\n`).join('')}`);
  for (const arch of ARCHES) {
    const bin = path.join(dir, 'linux', arch, 'bin');
    await mkdir(bin, {recursive: true});
    await writeFile(path.join(bin, 'run'), '#!/bin/sh\necho "bench buildpack"\n');
    await chmod(path.join(bin, 'run'), 0o755);
    await symlink('run', path.join(bin, 'detect'));
    await symlink('run', path.join(bin, 'build'));
  }
  for (let d = 0; d < 200; d++) await mkdir(path.join(dir, 'vendor', `d${String(d).padStart(3, '0')}`), {recursive: true});
  const body = (i: number): Buffer => Buffer.from(`file ${i} `.repeat(120).slice(0, 1024));
  for (let i = 0; i < count; i++) await writeFile(path.join(dir, 'vendor', `d${String(i % 200).padStart(3, '0')}`, `f${String(i).padStart(6, '0')}.txt`), body(i));
}

interface Target {
  name: string;
  ok: boolean;
  value: string;
}

async function large(work: string, registry: TestRegistry): Promise<{rows: string[]; targets: Target[]}> {
  const bp = path.join(work, 'bp');
  await mkdir(bp);
  console.log(`Generating a buildpack: ${ARCHES.length} platforms x ${SIZE_MIB} MiB (half incompressible) in ${bp}`);
  await generateBuildpack(bp);
  const dirs = ARCHES.map(a => path.join(bp, 'linux', a));
  const watch = await wireWatch(registry);
  try {
    const floors: Measure[] = [];
    const deflates: Measure[] = [];
    const packages: Measure[] = [];
    const sboms: Measure[] = [];
    const pushes: (Measure & {uploaded: number})[] = [];
    const ttfb: Measure[] = [];
    const peers: Measure[] = [];
    let rerun: (Measure & {uploaded: number}) | undefined;
    for (let i = 0; i < REPEAT; i++) {
      floors.push(await floor(dirs));
      deflates.push(await deflateFloor(dirs, work));
      packages.push(await ours(bp, work));
      sboms.push(await ours(bp, work, undefined, undefined, {sbom: 'true'}));
      watch.reset();
      const push = await ours(bp, work, `${watch.host}/ours/big-${i}:1.0.0`, watch.host);
      pushes.push(push);
      const first = watch.firstBlobAt();
      ttfb.push({seconds: first === undefined ? NaN : (first - push.startedAt) / 1000});
      rerun = await ours(bp, work, `${watch.host}/ours/big-${i}:1.0.0`, watch.host);
      peers.push(await buildah(bp, work, registry, i));
      console.log(
        `large run ${i + 1}/${REPEAT}: deflate floor ${deflates[i].seconds.toFixed(2)} s, GNU floor ${floors[i].seconds.toFixed(2)} s, package ${packages[i].seconds.toFixed(2)} s (with sbom ${sboms[i].seconds.toFixed(2)} s), package+push ${pushes[i].seconds.toFixed(2)} s (first blob byte at ${ttfb[i].seconds.toFixed(2)} s), buildah ${peers[i].seconds.toFixed(2)} s`
      );
    }
    const d = median(deflates);
    const f = median(floors);
    const p = median(packages);
    const sb = median(sboms);
    const pp = median(pushes);
    const t = median(ttfb);
    const peer = median(peers);
    const row = (name: string, m: Summary, ratio: string, rss: boolean, uploaded?: number): string =>
      `| ${name} | ${m.seconds.toFixed(2)} | ${spread(m)} | ${ratio} | ${rss && m.rssMiB !== undefined ? m.rssMiB.toFixed(0) : '-'} | ${uploaded !== undefined ? uploaded.toLocaleString('en') : ''} |`;
    const rows = [
      row(`deflate floor: Node zlib -6 of both tar streams in parallel (${SIZE_MIB} MiB each)`, d, '1.00x deflate', false),
      row('GNU floor: tar, gzip -6, sha256sum piped, both in parallel', f, `${(f.seconds / d.seconds).toFixed(2)}x deflate`, false),
      row('action: package only', p, `${(p.seconds / d.seconds).toFixed(2)}x deflate`, true),
      row('action: package only, sbom: true (every layer read back for its SBOM)', sb, `${(sb.seconds / d.seconds).toFixed(2)}x deflate`, true),
      row('action: package + push', pp, `${(pp.seconds / peer.seconds).toFixed(2)}x buildah`, true, pushes[0].uploaded),
      row('action: time to the first blob byte on the wire', t, '', false),
      row('action: re-run, nothing changed', median([rerun as Measure]), '', true, rerun?.uploaded),
      row('peer: buildah from/copy/commit + manifest push --all', peer, '1.00x buildah', false)
    ];
    const peak = Math.max(p.rssMiB ?? 0, sb.rssMiB ?? 0, pp.rssMiB ?? 0, rerun?.rssMiB ?? 0);
    return {
      rows,
      targets: [
        {name: 'package <= 1.25x the deflate floor', ok: p.seconds <= 1.25 * d.seconds, value: `${(p.seconds / d.seconds).toFixed(2)}x`},
        {name: 'package+push <= 0.7x buildah', ok: pp.seconds <= 0.7 * peer.seconds, value: `${(pp.seconds / peer.seconds).toFixed(2)}x`},
        {name: 'large files: peak RSS <= 200 MiB', ok: peak <= 200, value: `${peak.toFixed(0)} MiB`},
        {name: 're-run uploads 0 bytes', ok: rerun?.uploaded === 0, value: `${rerun?.uploaded} bytes`}
      ]
    };
  } finally {
    await watch.close();
  }
}

async function manyFiles(work: string): Promise<{rows: string[]; targets: Target[]}> {
  const results: Record<number, {action: Summary; floor: Summary}> = {};
  for (const count of [20_000, 100_000]) {
    const bp = path.join(work, `many-${count}`);
    await mkdir(bp);
    console.log(`Generating ${count.toLocaleString('en')} files of 1 KiB in 200 folders in ${bp}`);
    await generateManyFiles(bp, count);
    // Each platform's image holds the shared tree and its own bin/: the floor tars the same.
    const trees = ARCHES.map(a => `${bp}' --exclude='./linux/${ARCHES.find(o => o !== a)}`);
    const actions: Measure[] = [];
    const floors: Measure[] = [];
    for (let i = 0; i < REPEAT; i++) {
      floors.push(await floor(trees));
      actions.push(await ours(bp, work));
      console.log(`${count} files run ${i + 1}/${REPEAT}: floor ${floors[i].seconds.toFixed(2)} s, package ${actions[i].seconds.toFixed(2)} s, ${actions[i].rssMiB?.toFixed(0)} MiB`);
    }
    results[count] = {action: median(actions), floor: median(floors)};
    await rm(bp, {recursive: true, force: true});
  }
  const small = results[20_000];
  const big = results[100_000];
  const row = (name: string, m: Summary, ratio: string, rss: boolean): string => `| ${name} | ${m.seconds.toFixed(2)} | ${spread(m)} | ${ratio} | ${rss && m.rssMiB !== undefined ? m.rssMiB.toFixed(0) : '-'} | |`;
  return {
    rows: [
      row('20,000 files: tar, gzip -6, sha256sum of each platform, in parallel', small.floor, '1.00x floor', false),
      row('20,000 files: action, package only', small.action, `${(small.action.seconds / small.floor.seconds).toFixed(2)}x floor`, true),
      row('100,000 files: tar, gzip -6, sha256sum of each platform, in parallel', big.floor, `${(big.floor.seconds / small.floor.seconds).toFixed(2)}x 20k floor`, false),
      row('100,000 files: action, package only', big.action, `${(big.action.seconds / small.action.seconds).toFixed(2)}x 20k`, true)
    ],
    targets: [
      {name: '20,000 files <= 8x the tar|gzip floor', ok: small.action.seconds <= 8 * small.floor.seconds, value: `${(small.action.seconds / small.floor.seconds).toFixed(2)}x`},
      {name: '100,000 files <= 5.5x the time of 20,000', ok: big.action.seconds <= 5.5 * small.action.seconds, value: `${(big.action.seconds / small.action.seconds).toFixed(2)}x`},
      {name: '100,000 files: peak RSS <= 200 MiB', ok: (big.action.rssMiB ?? 0) <= 200, value: `${(big.action.rssMiB ?? 0).toFixed(0)} MiB`}
    ]
  };
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  const targets: Target[] = [];
  const rows: string[] = [];
  if (!only || only === 'cli') {
    const help = await cliHelp();
    console.log(`cli --help: npm run -s cli -- --help ${help.npm.seconds.toFixed(3)} s, node dist/index.js --cli --help ${help.bundle.seconds.toFixed(3)} s (median of 5)`);
    targets.push({name: 'npm run cli -- --help < 0.5 s', ok: help.npm.seconds < 0.5, value: `${help.npm.seconds.toFixed(3)} s`});
  }
  const work = await mkdtemp(path.join(tmpdir(), 'bench-'));
  if (process.env.BENCH_GENERATE_ONLY) {
    await generateBuildpack(work);
    console.log(work);
    return;
  }
  const registry = only === 'cli' ? undefined : await startRegistry({});
  try {
    if (registry && (!only || only === 'large')) {
      const r = await large(work, registry);
      rows.push(...r.rows);
      targets.push(...r.targets);
    }
    if (!only || only === 'files') {
      const r = await manyFiles(work);
      rows.push(...r.rows);
      targets.push(...r.targets);
    }
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    if (rows.length) {
      console.log(`\nMachine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB; Node ${process.versions.node}; median of ${REPEAT}, spread min-max\n`);
      console.log('| Run | Wall (s) | Spread (s) | Ratio | Peak RSS (MiB) | Bytes uploaded |');
      console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const r of rows) console.log(r);
    }
    console.log('');
    for (const t of targets) console.log(`${t.ok ? 'PASS' : 'FAIL'}  ${t.name}: ${t.value}`);
    if (!targets.every(t => t.ok)) process.exitCode = 1;
  } finally {
    await registry?.stop();
    await rm(work, {recursive: true, force: true});
  }
}

await main();
