import {platformRoot, type TreeEntry} from '../buildpack/tree.js';
import type {FileInspector} from '../oci/tar.js';
import {describeElf, elfMatchesPlatform, expectedElfName, parseElfIdentity, readElfIdentitySync, type ElfIdentity} from '../platform/elf.js';
import {formatPlatform, type Platform} from '../platform/platform.js';
import {UserError} from '../util/errors.js';

/** ELF identities by source file, so a file every platform ships is read once. */
export type ElfIdentities = Map<string, ElfIdentity | undefined>;

/** An ELF header is 20 bytes at least: anything shorter is not a binary. */
const ELF_HEADER = 20;

/**
 * A platform's tree must hold the lifecycle's entry points, and every ELF file in it must be for
 * that platform: an amd64 binary in the arm64 image is the bug this action exists to prevent.
 */
export function verifyPlatformTree(tree: TreeEntry[], platform: Platform, isComposite: boolean, options: {identities?: ElfIdentities; binaries?: boolean} = {}): void {
  const identities: ElfIdentities = options.identities ?? new Map<string, ElfIdentity | undefined>();
  if (!isComposite) {
    for (const entry of ['bin/detect', 'bin/build']) {
      if (!tree.some(e => e.path === entry && e.type !== 'directory')) {
        throw new UserError(`The ${formatPlatform(platform)} buildpack has no ${entry}; put the binaries in ${platformRoot(platform)}/bin or bin/ (or let build: auto compile cmd/), and list them in include-files if you use it.`);
      }
    }
  }
  // The native packager checks binaries as it writes the layer (binaryCheck), reading each
  // file once; files it did not write (jam's and pack's) are checked here.
  if (options.binaries === false) return;
  for (const entry of tree) {
    if (entry.type !== 'file') continue;
    if (!('source' in entry) || entry.size < ELF_HEADER) continue;
    let identity = identities.get(entry.source);
    if (!identities.has(entry.source)) identities.set(entry.source, (identity = readElfIdentitySync(entry.source)));
    if (identity && !elfMatchesPlatform(identity, platform)) throw wrongBinary(entry.path, identity, platform);
  }
}

function wrongBinary(file: string, identity: ElfIdentity, platform: Platform): UserError {
  return new UserError(
    `${file} in the ${formatPlatform(platform)} buildpack is built for ${describeElf(identity)}, not ${expectedElfName(platform)}; build it for ${platform.architecture} (GOARCH=${platform.architecture}) or move it under ${platformRoot(platform)}/bin.`
  );
}

/**
 * The same check as the layer is written, on the first bytes the tar writer reads anyway:
 * `root` is the directory the entries are named under, stripped for the message.
 */
export function binaryCheck(platform: Platform, root: string): FileInspector {
  const prefix = `${root}/`;
  return (entry, buffer, offset, length) => {
    const identity = parseElfIdentity(buffer, offset, length);
    if (identity && !elfMatchesPlatform(identity, platform)) throw wrongBinary(entry.name.startsWith(prefix) ? entry.name.slice(prefix.length) : entry.name, identity, platform);
  };
}
