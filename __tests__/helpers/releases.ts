/**
 * A stand-in for https://github.com release downloads: a plain node:http server on 127.0.0.1,
 * in the test's own process, serving bytes at GitHub's /<owner>/<repo>/releases/download/<tag>/
 * paths (so its URL can be the action's tools-download-base-url), and recording every request.
 *
 * It answers only while the test's event loop is free: run the action with an asynchronous child
 * process, not spawnSync (exec()/execOk() would block the server and deadlock).
 */
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {ROOT} from './paths.js';

export const STANDIN_JAM = path.join(ROOT, '__tests__', 'fixtures', 'standins', 'jam.mjs');
export const STANDIN_PACK = path.join(ROOT, '__tests__', 'fixtures', 'standins', 'pack.mjs');

export interface ReleaseRequest {
  method: string;
  path: string;
  status: number;
}

export interface ReleaseServer {
  /** "http://127.0.0.1:PORT", used as the action's tools-download-base-url. */
  url: string;
  /** Every request received, in order (recorded before the response is sent). */
  requests: ReleaseRequest[];
  /** Serve `body` at `path` (e.g. "/buildpacks/pack/releases/download/v0.38.2/pack-v0.38.2-linux.tgz"). */
  put(path: string, body: Buffer): void;
  stop(): Promise<void>;
}

/** Starts the server. GET and HEAD of a put() path answer 200 with the bytes; anything else 404. */
export async function startReleaseServer(): Promise<ReleaseServer> {
  const files = new Map<string, Buffer>();
  const requests: ReleaseRequest[] = [];
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const body = files.get(pathname);
    const status = body && (method === 'GET' || method === 'HEAD') ? 200 : 404;
    requests.push({method, path: pathname, status});
    req.resume();
    if (status === 200 && body) {
      res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': body.length});
      res.end(method === 'HEAD' ? undefined : body);
    } else {
      const text = 'Not Found';
      res.writeHead(404, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text)});
      res.end(method === 'HEAD' ? undefined : text);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const {port} = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    put(p: string, body: Buffer): void {
      files.set(p.startsWith('/') ? p : `/${p}`, body);
    },
    async stop(): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        server.close(error => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    }
  };
}

/** Release-asset paths for linux/amd64 runners (Node's process.platform 'linux', process.arch 'x64'). */
export function releasePaths(versions: {pack: string; jam: string; buildx: string}): {
  pack: string;
  packSha256: string;
  jam: string;
  buildx: string;
  buildxChecksums: string;
} {
  const pack = `/buildpacks/pack/releases/download/v${versions.pack}/pack-v${versions.pack}-linux.tgz`;
  const buildxDir = `/docker/buildx/releases/download/v${versions.buildx}`;
  return {
    pack,
    packSha256: `${pack}.sha256`,
    jam: `/paketo-buildpacks/jam/releases/download/v${versions.jam}/jam-linux-amd64`,
    buildx: `${buildxDir}/buildx-v${versions.buildx}.linux-amd64`,
    buildxChecksums: `${buildxDir}/checksums.txt`
  };
}

/**
 * The release assets GitHub would serve for the stand-ins, for linux/amd64 runners:
 * - pack: pack-v<V>-linux.tgz (a gzip tar whose one entry `pack`, mode 0755, is the stand-in
 *   pack.mjs) and pack-v<V>-linux.tgz.sha256 (`<hex>  pack-v<V>-linux.tgz\n`);
 * - jam: jam-linux-amd64 (the stand-in jam.mjs bytes; jam publishes no checksum);
 * - buildx: buildx-v<V>.linux-amd64 (a `#!/bin/sh` script printing `github.com/docker/buildx
 *   v<V> standin`, and the CLI-plugin metadata for `docker-cli-plugin-metadata`) and
 *   checksums.txt (`<hex> *<asset>` lines, its own plus three made-up ones).
 * Returns path -> bytes, so a test can corrupt or drop one before serveAll().
 */
export function releaseAssets(versions: {pack: string; jam: string; buildx: string}): Map<string, Buffer> {
  const paths = releasePaths(versions);
  const assets = new Map<string, Buffer>();

  const packTgz = tgzOfOneExecutable(STANDIN_PACK, 'pack');
  assets.set(paths.pack, packTgz);
  assets.set(paths.packSha256, Buffer.from(`${sha256(packTgz)}  ${path.posix.basename(paths.pack)}\n`));

  assets.set(paths.jam, readFileSync(STANDIN_JAM));

  const v = versions.buildx;
  const buildx = Buffer.from(
    [
      '#!/bin/sh',
      `# A stand-in for docker-buildx v${v} (test fixture, not buildx).`,
      'if [ "$1" = "docker-cli-plugin-metadata" ]; then',
      `  echo '{"SchemaVersion":"0.1.0","Vendor":"Docker Inc.","Version":"v${v}","ShortDescription":"Docker Buildx","URL":"https://github.com/docker/buildx"}'`,
      '  exit 0',
      'fi',
      `echo "github.com/docker/buildx v${v} standin"`,
      ''
    ].join('\n')
  );
  assets.set(paths.buildx, buildx);
  const fake = (name: string): string => `${sha256(Buffer.from(`not-a-real-asset:${name}`))} *${name}`;
  assets.set(paths.buildxChecksums, Buffer.from([fake(`buildx-v${v}.darwin-arm64`), fake(`buildx-v${v}.linux-arm64`), `${sha256(buildx)} *${path.posix.basename(paths.buildx)}`, fake(`buildx-v${v}.windows-amd64.exe`), ''].join('\n')));
  return assets;
}

/** Serves every asset of the map. */
export function serveAll(server: ReleaseServer, assets: Map<string, Buffer>): void {
  for (const [p, body] of assets) server.put(p, body);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A .tgz holding one executable `name` (mode 0755, owner 0:0), made by the system's GNU tar. */
function tgzOfOneExecutable(source: string, name: string): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'release-asset-'));
  try {
    copyFileSync(source, path.join(dir, name));
    chmodSync(path.join(dir, name), 0o755);
    return execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', '-', '-C', dir, name], {maxBuffer: 64 * 1024 * 1024});
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
