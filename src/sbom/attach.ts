import type {BuildpackDescriptor} from '../buildpack/descriptor.js';
import {escapedId} from '../buildpack/descriptor.js';
import type {PlatformImage} from '../image/image.js';
import type {BlobStore} from '../oci/store.js';
import type {Attachment} from '../output/layout.js';
import {platformSlug} from '../platform/platform.js';
import {readShippedModules} from './contents.js';
import {CYCLONEDX_JSON, buildSbom} from './sbom.js';

/** `<escaped id>-<version>-<os>-<arch>[-<variant>].sbom.cdx.json`, beside the `.cnb` of the same platform. */
export function sbomFileName(id: string, version: string, image: Pick<PlatformImage, 'platform'>): string {
  return `${escapedId(id)}-${version}-${platformSlug(image.platform)}.sbom.cdx.json`;
}

export interface SbomOptions {
  descriptor: BuildpackDescriptor;
  version: string;
  /** Where the images are published (`ghcr.io/acme/bp`), for their purls. */
  repository?: string;
  /** SOURCE_DATE_EPOCH, when set. */
  created?: Date;
  /** Warnings about the SBOM's content, each said once however many platforms it concerns. */
  warn?: (message: string) => void;
}

/** The SBOM of each platform image, read from what its layers ship, as attachments of the layout. */
export function sbomAttachments(options: SbomOptions): (images: PlatformImage[], store: BlobStore) => Promise<Attachment[]> {
  const {descriptor, version} = options;
  const said = new Set<string>();
  const warn = (message: string): void => {
    if (!said.has(message)) options.warn?.(message);
    said.add(message);
  };
  return async (images, store) =>
    Promise.all(
      images.map(async image => ({
        subject: image,
        artifactType: CYCLONEDX_JSON,
        fileName: sbomFileName(descriptor.id, version, image),
        bytes: buildSbom({
          id: descriptor.id,
          name: descriptor.name,
          version,
          homepage: descriptor.homepage,
          description: descriptor.description,
          licenses: descriptor.licenses.map(l => l.type).filter((t): t is string => Boolean(t)),
          platform: image.platform,
          manifest: image.manifest,
          repository: options.repository,
          modules: await readShippedModules(store, image.layers),
          created: options.created,
          warn
        })
      }))
    );
}
