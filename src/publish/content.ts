import { readFile } from 'node:fs/promises';
import type { PublishContent } from '../registry/write.js';
import type { PackageResult } from '../package/package.js';

/** What a publish sends, read from the finished layout: the exact bytes that were hashed. */
export async function publishContent(result: PackageResult): Promise<PublishContent> {
  const store = result.store;
  return {
    store,
    manifests: await Promise.all(
      result.platforms.map(async (p) => ({
        descriptor: p.image.manifest,
        bytes: await readFile(store.blobPath(p.image.manifest.digest)),
        blobs: [p.image.config, ...p.image.layers],
      })),
    ),
    index: { descriptor: result.index, bytes: await readFile(store.blobPath(result.index.digest)) },
  };
}
