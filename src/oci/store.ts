import {randomUUID} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {copyFile, mkdir, rename, rm, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import type {Readable} from 'node:stream';
import {canonicalJson, digestHex, sha256Digest} from './digest.js';
import type {Descriptor} from './types.js';

/**
 * Content-addressed blobs on disk, in OCI image layout form (`blobs/sha256/<hex>`). Writers go
 * to a temporary name and are renamed into place once their digest is known, so a blob file
 * always holds exactly the bytes its name promises.
 */
export class BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  blobPath(digest: string): string {
    return path.join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  /** A fresh temporary file name inside the store, for streaming writers. */
  async tempPath(): Promise<string> {
    const dir = path.join(this.root, 'blobs', 'sha256');
    await mkdir(dir, {recursive: true});
    return path.join(dir, `.tmp-${randomUUID()}`);
  }

  /** Moves a finished temporary file to its digest's name. */
  async commit(temp: string, digest: string): Promise<void> {
    await rename(temp, this.blobPath(digest));
  }

  async discard(temp: string): Promise<void> {
    await rm(temp, {force: true});
  }

  async writeBytes(mediaType: string, bytes: Buffer): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    await mkdir(path.dirname(this.blobPath(digest)), {recursive: true});
    await writeFile(this.blobPath(digest), bytes);
    return {mediaType, digest, size: bytes.length};
  }

  /** Serialises once and stores those bytes; returns them too, for callers that send them. */
  async writeJson(mediaType: string, value: unknown): Promise<{descriptor: Descriptor; bytes: Buffer}> {
    const bytes = canonicalJson(value);
    return {descriptor: await this.writeBytes(mediaType, bytes), bytes};
  }

  /**
   * Moves a file whose digest the caller has verified into the store (the caller gives it up);
   * copies it only when the store is on another file system.
   */
  async importFile(digest: string, source: string): Promise<void> {
    await mkdir(path.dirname(this.blobPath(digest)), {recursive: true});
    try {
      await rename(source, this.blobPath(digest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(source, this.blobPath(digest));
    }
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  open(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
  }
}
