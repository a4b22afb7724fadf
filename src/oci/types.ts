/** OCI image-spec v1.1 types and media types, as go-containerregistry's v1 package names them. */

export const MediaType = {
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** The image spec 1.1 empty descriptor's type: `{}`, the config of an artifact. */
  Empty: 'application/vnd.oci.empty.v1+json'
} as const;

export type Format = 'oci' | 'docker';

/** The media types of one format; the blobs' bytes are the same in both, only the JSON differs. */
export function mediaTypes(format: Format): {index: string; manifest: string; config: string; layer: string} {
  return format === 'docker'
    ? {index: MediaType.DockerManifestList, manifest: MediaType.DockerManifest, config: MediaType.DockerConfig, layer: MediaType.DockerLayer}
    : {index: MediaType.ImageIndex, manifest: MediaType.ImageManifest, config: MediaType.ImageConfig, layer: MediaType.Layer};
}

/** The platform object of an index entry; field order as the image spec lists it. */
export interface OciPlatform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: OciPlatform;
  annotations?: Record<string, string>;
  /** Of an artifact manifest's descriptor (image spec 1.1): what it carries. */
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  /** An artifact (image spec 1.1): what it carries, and the manifest it is about. */
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created: string;
  config: {Labels: Record<string, string>};
  rootfs: {type: 'layers'; diff_ids: string[]};
}

/**
 * A layer's media type in the target format: the bytes stay the same, only the name changes.
 * zstd layers have no Docker name, so they cannot go into a Docker manifest.
 */
export function layerMediaType(source: string, format: Format): string | undefined {
  const gzip = /tar\.gzip$|tar\+gzip$/.test(source);
  const plain = /rootfs\.diff\.tar$|layer\.v1\.tar$/.test(source);
  const zstd = /\+zstd$/.test(source);
  if (gzip) return mediaTypes(format).layer;
  if (plain) return format === 'docker' ? 'application/vnd.docker.image.rootfs.diff.tar' : 'application/vnd.oci.image.layer.v1.tar';
  if (zstd && format === 'oci') return source;
  return undefined;
}
