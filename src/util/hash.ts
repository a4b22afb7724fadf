import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {Transform, type TransformCallback} from 'node:stream';

export interface FileHash {
  /** `sha256:<hex>` */
  digest: string;
  size: number;
  /** The first bytes read, for magic numbers (gzip, ELF). */
  head: Buffer;
}

/** sha256 and size of a file in one streamed read, never holding the file. */
export function hashFile(file: string): Promise<FileHash> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let size = 0;
    let head: Buffer | undefined;
    createReadStream(file)
      .on('data', (data: string | Buffer) => {
        const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data);
        head ??= chunk.subarray(0, 16);
        size += chunk.length;
        hash.update(chunk);
      })
      .on('end', () => resolve({digest: `sha256:${hash.digest('hex')}`, size, head: head ?? Buffer.alloc(0)}))
      .on('error', reject);
  });
}

/** Counts and hashes the bytes passing through a pipeline, without holding them. */
export class Digester extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }
  /** `sha256:<hex>`, once the stream has ended. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
