import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {pipeline} from 'node:stream/promises';
import {createGunzip} from 'node:zlib';
import {Parser, type ReadEntry} from 'tar';
import {readDependencies, type Dependency} from '../buildpack/dependencies.js';
import {parseToml} from '../buildpack/toml.js';
import type {BlobStore} from '../oci/store.js';
import type {Descriptor} from '../oci/types.js';
import {GoBuildInfoScanner, type GoBuildInfo} from './go-buildinfo.js';

/** A buildpack (or image extension) as an image ships it: what its layer holds. */
export interface ShippedModule {
  kind: 'buildpack' | 'extension';
  /** The escaped id and the version, as the layer's path names them. */
  escapedId: string;
  version: string;
  /** From its shipped buildpack.toml: the id, name and the dependencies this platform keeps. */
  id?: string;
  name?: string;
  dependencies: Dependency[];
  binaries: ShippedBinary[];
}

export interface ShippedBinary {
  /** The path in the image: `/cnb/buildpacks/acme_bp/1.0.0/bin/run`. */
  path: string;
  sha256: string;
  size: number;
  go?: GoBuildInfo;
}

const MODULE_PATH = /^\/?cnb\/(buildpacks|extensions)\/([^/]+)\/([^/]+)\/(.+)$/;

/**
 * What the image's layers ship, read from the layers themselves (so the SBOM says what is in the
 * image, whichever packager made it, a family's components included): each module's shipped
 * descriptor and its ELF binaries, hashed, with their Go build information.
 */
export async function readShippedModules(store: BlobStore, layers: Descriptor[]): Promise<ShippedModule[]> {
  const modules = new Map<string, ShippedModule>();
  const moduleOf = (kind: string, escapedId: string, version: string): ShippedModule => {
    const key = `${kind}/${escapedId}/${version}`;
    let m = modules.get(key);
    if (!m) modules.set(key, (m = {kind: kind === 'extensions' ? 'extension' : 'buildpack', escapedId, version, dependencies: [], binaries: []}));
    return m;
  };
  for (const layer of layers) {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const match = MODULE_PATH.exec(entry.path);
        if (entry.type !== 'File' || !match) {
          entry.resume();
          return;
        }
        const [, kind, escapedId, version, rest] = match;
        const module = moduleOf(kind, escapedId, version);
        const hash = createHash('sha256');
        const descriptor = rest === 'buildpack.toml' || rest === 'extension.toml';
        const text: Buffer[] = [];
        let go: GoBuildInfoScanner | undefined;
        let first = true;
        entry.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          if (first) {
            first = false;
            if (chunk.length >= 4 && chunk.readUInt32BE(0) === 0x7f454c46) go = new GoBuildInfoScanner();
          }
          if (go) go.write(chunk);
          else if (descriptor) text.push(chunk);
        });
        entry.on('end', () => {
          if (descriptor && !go) readDescriptorOf(module, Buffer.concat(text), entry.path);
          else if (go) {
            const info = go.result();
            module.binaries.push({path: entry.path.startsWith('/') ? entry.path : `/${entry.path}`, sha256: hash.digest('hex'), size: entry.size, ...(info ? {go: info} : {})});
          }
        });
      }
    });
    const source = createReadStream(store.blobPath(layer.digest));
    if (layer.mediaType.endsWith('gzip')) await pipeline(source, createGunzip(), parser);
    else await pipeline(source, parser);
  }
  for (const m of modules.values()) m.binaries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return [...modules.values()].sort((a, b) => (a.escapedId < b.escapedId ? -1 : a.escapedId > b.escapedId ? 1 : a.version < b.version ? -1 : 1));
}

/** The shipped descriptor's id, name and dependencies; one the action rendered parses, so a failure here is a bug. */
function readDescriptorOf(module: ShippedModule, bytes: Buffer, file: string): void {
  const value = parseToml(bytes.toString('utf8'), file).value;
  const table = (value[module.kind] ?? {}) as Record<string, unknown>;
  module.id = typeof table.id === 'string' ? table.id : undefined;
  module.name = typeof table.name === 'string' ? table.name : undefined;
  const metadata = value.metadata && typeof value.metadata === 'object' ? (value.metadata as Record<string, unknown>) : {};
  module.dependencies = readDependencies(metadata, file);
}
