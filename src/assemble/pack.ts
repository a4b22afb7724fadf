import {createReadStream} from 'node:fs';
import {mkdir, readdir, stat} from 'node:fs/promises';
import path from 'node:path';
import {verifyPlatformTree} from '../compile/verify.js';
import type {BuildpackDescriptor} from '../buildpack/descriptor.js';
import {scanTree} from '../buildpack/files.js';
import type {TreeEntry} from '../buildpack/tree.js';
import {importCnb} from '../image/import.js';
import type {PlatformImage} from '../image/image.js';
import type {BlobStore} from '../oci/store.js';
import type {Format} from '../oci/types.js';
import {formatPlatform, platformSlug, type Platform} from '../platform/platform.js';
import {extractArchive} from '../util/archive.js';
import {UserError} from '../util/errors.js';
import {lastLine, stoppedBy, type ProcessResult, type ProcessRunner} from '../util/process.js';
import * as log from '../util/log.js';

export interface PackPackagerRequest {
  dir: string;
  descriptor: BuildpackDescriptor;
  version: string;
  platforms: Platform[];
  work: string;
  jam: string;
  pack: string;
  /** jam pack --offline: jam downloads and bundles the dependencies. */
  offline: boolean;
  run: ProcessRunner;
}

/** One .cnb per platform, as `pack buildpack package --format file --target` wrote it. */
export interface PackOutput {
  platform: Platform;
  cnb: string;
}

/**
 * Paketo's own toolchain: `jam pack` (version, include-files and pre-package handled by jam),
 * the archive extracted (pack needs a directory for several targets), then `pack buildpack
 * package --format file --target <os>/<arch>` once per platform. Binaries are checked against
 * each platform before pack sees them.
 */
export async function packageWithPack(request: PackPackagerRequest): Promise<PackOutput[]> {
  const {dir, version, work, run} = request;
  const archive = path.join(work, 'jam', 'buildpack.tgz');
  await mkdir(path.dirname(archive), {recursive: true});
  const jamArgs = ['pack', '--buildpack', path.join(dir, 'buildpack.toml'), '--version', version, '--output', archive, ...(request.offline ? ['--offline'] : [])];
  check('jam pack', await run(request.jam, jamArgs, {cwd: dir}));
  const root = path.join(work, 'jam', 'root');
  await mkdir(root, {recursive: true});
  await extractArchive(createReadStream(archive), root, {archive: `the jam pack archive ${archive}`});

  const outputs: PackOutput[] = [];
  for (const platform of request.platforms) {
    verifyPlatformTree(await packagedFiles(root, platform), platform, request.descriptor.order !== undefined);
    const outDir = path.join(work, 'pack', platformSlug(platform));
    await mkdir(outDir, {recursive: true});
    const args = ['buildpack', 'package', path.join(outDir, 'buildpack.cnb'), '--path', root, '--format', 'file', '--target', formatPlatform(platform)];
    check(`pack buildpack package for ${formatPlatform(platform)}`, await run(request.pack, args, {cwd: root}));
    const written = (await readdir(outDir)).filter(f => f.endsWith('.cnb'));
    if (written.length !== 1) {
      throw new UserError(`pack buildpack package for ${formatPlatform(platform)} wrote ${written.length} .cnb files in ${outDir}, not one; check the pack version.`);
    }
    log.info(`${formatPlatform(platform)}: ${written[0]}`);
    outputs.push({platform, cnb: path.join(outDir, written[0])});
  }
  return outputs;
}

/**
 * What pack will package for a platform: the deepest of `<os>/<arch>/<variant>`, `<os>/<arch>`
 * and `<os>` that exists (jam lays out `linux/arm` for linux/arm/v7), else the whole root.
 */
async function packagedFiles(root: string, platform: Platform): Promise<TreeEntry[]> {
  const levels = [platform.os, platform.architecture, ...(platform.variant ? [platform.variant] : [])];
  for (let n = levels.length; n > 0; n--) {
    const dir = path.join(root, ...levels.slice(0, n));
    const exists = await stat(dir).then(
      s => s.isDirectory(),
      () => false
    );
    if (exists) return scanTree(dir, [], false);
  }
  return scanTree(root, [], false);
}

function check(what: string, result: ProcessResult): void {
  if (result.exitCode !== 0) {
    throw new UserError(`${what} failed (exit code ${result.exitCode}${stoppedBy(result)}): ${lastLine(result) || 'no output'}; fix the buildpack or the tool and run again.`, {details: `${result.stdout}${result.stderr}`});
  }
  const output = `${result.stdout}${result.stderr}`.trim();
  if (output) log.info(output);
}

/** The pack packager's images: each .cnb imported, its config corrected to its platform. */
export function packImages(outputs: PackOutput[], format: Format, scratch: string, annotationsOf: (platform: Platform) => Record<string, string> = () => ({})): (store: BlobStore) => Promise<PlatformImage[]> {
  return async store => {
    const images: PlatformImage[] = [];
    for (const o of outputs) images.push(await importCnb(o.cnb, o.platform, format, store, scratch, annotationsOf(o.platform)));
    return images;
  };
}
