import {UserError} from '../util/errors.js';
import type {ToolName} from './versions.js';

/** The runner, in Node's names (process.platform, process.arch). */
export interface Runner {
  platform: NodeJS.Platform;
  arch: string;
}

/** Where a tool's release asset lives and how to check it. */
export interface ReleaseAsset {
  /** The file name on the release page. */
  asset: string;
  url: string;
  /** How the published sha256 is found, if the project publishes one. */
  checksum: {kind: 'file'; url: string} | {kind: 'list'; url: string} | {kind: 'none'};
  archive: 'tgz' | 'zip' | 'binary';
  /** The executable's name once installed. */
  executable: string;
}

export const GITHUB = 'https://github.com';

function goOs(runner: Runner): 'linux' | 'darwin' | 'windows' {
  if (runner.platform === 'linux') return 'linux';
  if (runner.platform === 'darwin') return 'darwin';
  if (runner.platform === 'win32') return 'windows';
  throw new UserError(`Tools cannot be installed on ${runner.platform} runners; use a Linux, macOS or Windows runner.`);
}

function goArch(runner: Runner): 'amd64' | 'arm64' {
  if (runner.arch === 'x64') return 'amd64';
  if (runner.arch === 'arm64') return 'arm64';
  throw new UserError(`Tools cannot be installed on ${runner.arch} runners; use an x64 or arm64 runner.`);
}

/** Release asset names as each project publishes them. `base` replaces https://github.com. */
export function releaseAsset(tool: ToolName, version: string, runner: Runner, base = GITHUB): ReleaseAsset {
  const os = goOs(runner);
  const arch = goArch(runner);
  const exe = os === 'windows' ? '.exe' : '';
  const root = base.replace(/\/+$/, '');
  switch (tool) {
    case 'pack': {
      const suffix = os === 'windows' ? 'windows.zip' : `${os === 'darwin' ? 'macos' : 'linux'}${arch === 'arm64' ? '-arm64' : ''}.tgz`;
      const asset = `pack-v${version}-${suffix}`;
      const url = `${root}/buildpacks/pack/releases/download/v${version}/${asset}`;
      return {asset, url, checksum: {kind: 'file', url: `${url}.sha256`}, archive: os === 'windows' ? 'zip' : 'tgz', executable: `pack${exe}`};
    }
    case 'jam': {
      const asset = `jam-${os}-${arch}${exe}`;
      return {asset, url: `${root}/paketo-buildpacks/jam/releases/download/v${version}/${asset}`, checksum: {kind: 'none'}, archive: 'binary', executable: `jam${exe}`};
    }
    case 'buildx': {
      const asset = `buildx-v${version}.${os}-${arch}${exe}`;
      const dir = `${root}/docker/buildx/releases/download/v${version}`;
      return {asset, url: `${dir}/${asset}`, checksum: {kind: 'list', url: `${dir}/checksums.txt`}, archive: 'binary', executable: `docker-buildx${exe}`};
    }
  }
}

/**
 * The sha256 for `asset` from a published checksum file: a bare hash, `hash  name`, or
 * `hash *name` lines (pack's .sha256, buildx's checksums.txt).
 */
export function publishedSha256(text: string, asset: string): string | undefined {
  const lines = text
    .split(/\r?\n/)
    .map(l => l.trim())
    .filter(Boolean);
  for (const line of lines) {
    const [hash, name] = line.split(/\s+\*?/);
    if (!/^[a-f0-9]{64}$/i.test(hash)) continue;
    if (name === undefined ? lines.length === 1 : name.replace(/^\*/, '') === asset) return hash.toLowerCase();
  }
  return undefined;
}
