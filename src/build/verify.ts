import { platformRoot, type TreeEntry } from '../buildpack/tree.js';
import { describeElf, elfMatchesPlatform, expectedElfName, readElfIdentity } from '../platform/elf.js';
import { formatPlatform, type Platform } from '../platform/platform.js';
import { InputError } from '../util/errors.js';

/**
 * A platform's tree must hold the lifecycle's entry points, and every ELF file in it must be for
 * that platform: an amd64 binary in the arm64 image is the bug this action exists to prevent.
 */
export async function verifyPlatformTree(tree: TreeEntry[], platform: Platform, isComposite: boolean): Promise<void> {
  if (!isComposite) {
    for (const entry of ['bin/detect', 'bin/build']) {
      if (!tree.some((e) => e.path === entry && e.type !== 'directory')) {
        throw new InputError(
          `The ${formatPlatform(platform)} buildpack has no ${entry}; put the binaries in ${platformRoot(platform)}/bin or bin/ (or let build: auto compile cmd/), and list them in include-files if you use it.`,
        );
      }
    }
  }
  for (const entry of tree) {
    if (entry.type !== 'file') continue;
    const identity = 'source' in entry ? await readElfIdentity(entry.source) : undefined;
    if (identity && !elfMatchesPlatform(identity, platform)) {
      throw new InputError(
        `${entry.path} in the ${formatPlatform(platform)} buildpack is built for ${describeElf(identity)}, not ${expectedElfName(platform)}; build it for ${platform.architecture} (GOARCH=${platform.architecture}) or move it under ${platformRoot(platform)}/bin.`,
      );
    }
  }
}
