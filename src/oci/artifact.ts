import {sha256Digest} from './digest.js';
import {MediaType, type Descriptor, type ImageManifest} from './types.js';

/** The image spec's empty JSON, `{}`: an artifact's config when it has nothing to configure. */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR: Descriptor = {mediaType: MediaType.Empty, digest: sha256Digest(EMPTY_JSON), size: EMPTY_JSON.length};

/**
 * An OCI 1.1 artifact manifest about `subject` (a platform image, say): an image manifest whose
 * `artifactType` says what it carries, the empty config, one layer holding the document, and
 * the subject, which is how the referrers API and the referrers tag find it. No timestamp: the
 * same document about the same subject is the same manifest.
 */
export function artifactManifest(artifactType: string, document: Descriptor, subject: Descriptor, title: string): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [{...document, annotations: {'org.opencontainers.image.title': title}}],
    subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.size}
  };
}

/** The tag the distribution spec 1.1 has clients keep a subject's referrers under, where the registry has no referrers API. */
export function referrersTag(subject: string): string {
  return subject.replace(':', '-');
}
