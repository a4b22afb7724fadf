import path from 'node:path';
import {execOk} from './exec.js';
import {tempDir} from './fixtures.js';

/**
 * Unpacks one platform of a multi-platform OCI layout with tools the project did not write:
 * skopeo picks the platform into a single-image layout, umoci unpacks it. Returns the rootfs.
 */
export async function unpackPlatform(layout: string, reference: string, arch: string): Promise<string> {
  const work = await tempDir(`unpack-${arch}-`);
  execOk('skopeo', ['copy', '--override-os', 'linux', '--override-arch', arch, `oci:${layout}:${reference}`, `oci:${work}/single:img`]);
  execOk('umoci', ['unpack', '--image', `${work}/single:img`, `${work}/bundle`]);
  return path.join(work, 'bundle', 'rootfs');
}

/** The config of one platform, read by skopeo. */
export function platformConfig(layout: string, reference: string, arch: string): {architecture: string; os: string; variant?: string; config: {Labels: Record<string, string>}; rootfs: {diff_ids: string[]}} {
  return JSON.parse(execOk('skopeo', ['inspect', '--config', '--override-os', 'linux', '--override-arch', arch, `oci:${layout}:${reference}`])) as ReturnType<typeof platformConfig>;
}
