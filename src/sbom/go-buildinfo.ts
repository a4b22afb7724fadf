/**
 * The build information Go (1.18 and later) embeds in every binary, as `go version -m` prints
 * it: the Go version, the main package and module, and every module linked in with its version
 * and checksum. Read where the linker puts it (`.go.buildinfo`, which starts with a magic at a
 * 16-byte boundary) by looking for that magic, as the bytes stream past: no Go toolchain, no
 * section headers, no whole binary in memory.
 */

export interface GoModule {
  path: string;
  version: string;
  /** `h1:...`; empty for a vendored or replaced module built without go.sum. */
  sum?: string;
  /** The module this one was replaced with (`=> ...`), as it was linked. */
  replacedBy?: GoModule;
}

export interface GoBuildInfo {
  /** `go1.22.3` */
  goVersion: string;
  /** The main package: `github.com/acme/bp/cmd/run`. */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  /** `-compiler=gc`, `GOARCH=arm64`, ... as key -> value. */
  settings: Record<string, string>;
}

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER = 32;
const FLAG_INLINE = 0x2;
/** The 16 bytes Go wraps the module information in (runtime/debug's infoStart/infoEnd). */
const SENTINEL = 16;

/** The build information of a whole binary, or undefined when it has none (not Go, or before 1.18). */
export function readGoBuildInfo(binary: Buffer): GoBuildInfo | undefined {
  const scanner = new GoBuildInfoScanner();
  scanner.write(binary);
  return scanner.result();
}

/** The build information that starts at `bytes[0]` (the magic), if it parses. */
function parseAt(bytes: Buffer): GoBuildInfo | undefined {
  if (bytes.length < HEADER || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  // Before Go 1.18 the strings were pointers into the data segment: not read here.
  if ((bytes[15] & FLAG_INLINE) === 0) return undefined;
  let offset = HEADER;
  const next = (): string | undefined => {
    const length = readUvarint(bytes, offset);
    if (!length || length.end + length.value > bytes.length) return undefined;
    offset = length.end + length.value;
    return bytes.subarray(length.end, offset).toString('utf8');
  };
  const goVersion = next();
  const modinfo = next();
  if (goVersion === undefined || modinfo === undefined) return undefined;
  return {goVersion, ...parseModInfo(modinfo.length >= 2 * SENTINEL ? modinfo.slice(SENTINEL, -SENTINEL) : '')};
}

/** The lines of `runtime/debug.BuildInfo.String()`: path, mod, dep, =>, build. */
export function parseModInfo(text: string): Omit<GoBuildInfo, 'goVersion'> {
  const info: Omit<GoBuildInfo, 'goVersion'> = {deps: [], settings: {}};
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const [kind, ...fields] = line.split('\t');
    if (kind === 'path' && fields[0]) info.path = fields[0];
    else if ((kind === 'mod' || kind === 'dep') && fields[0]) {
      const module: GoModule = {path: fields[0], version: fields[1] ?? '', ...(fields[2] ? {sum: fields[2]} : {})};
      if (kind === 'mod') info.main = module;
      else info.deps.push(module);
      last = module;
    } else if (kind === '=>' && fields[0] && last) {
      last.replacedBy = {path: fields[0], version: fields[1] ?? '', ...(fields[2] ? {sum: fields[2]} : {})};
    } else if (kind === 'build' && fields[0]) {
      const eq = fields[0].indexOf('=');
      if (eq > 0) info.settings[fields[0].slice(0, eq)] = fields[0].slice(eq + 1);
    }
  }
  return info;
}

/** How much of a binary is kept after each candidate magic: the two strings, module lists included. */
const WINDOW = 1024 * 1024;
/** Magic strings at a 16-byte boundary looked at; the first that parses wins. */
const MAX_CANDIDATES = 8;

/**
 * The build information of a binary read as a stream (a layer's tar entry), holding only a
 * window after each place the magic appears at a 16-byte boundary, never the whole binary: a
 * runtime of hundreds of MiB costs a few KiB. A magic that is only a string constant (a program
 * using debug/buildinfo) is told apart by not parsing.
 */
export class GoBuildInfoScanner {
  /** File offset of the next chunk. */
  private offset = 0;
  /** The last bytes before the next chunk, where a magic may begin. */
  private tail = Buffer.alloc(0);
  private readonly windows: {chunks: Buffer[]; size: number}[] = [];

  write(chunk: Buffer): void {
    for (const w of this.windows) this.append(w, chunk);
    // A magic that starts in the tail and ends in this chunk.
    if (this.tail.length) {
      const boundary = Buffer.concat([this.tail, chunk.subarray(0, MAGIC.length - 1)]);
      const base = this.offset - this.tail.length;
      for (let at = boundary.indexOf(MAGIC); at >= 0 && at < this.tail.length; at = boundary.indexOf(MAGIC, at + 1)) {
        if ((base + at) % 16 === 0) this.open([this.tail.subarray(at), chunk]);
      }
    }
    for (let at = chunk.indexOf(MAGIC); at >= 0; at = chunk.indexOf(MAGIC, at + 1)) {
      if ((this.offset + at) % 16 === 0) this.open([chunk.subarray(at)]);
    }
    // The stream's last bytes, which may span several small chunks.
    const keep = MAGIC.length - 1;
    this.tail = chunk.length >= keep ? Buffer.from(chunk.subarray(chunk.length - keep)) : Buffer.concat([this.tail, chunk]).subarray(-keep);
    this.offset += chunk.length;
  }

  result(): GoBuildInfo | undefined {
    for (const w of this.windows) {
      const info = parseAt(Buffer.concat(w.chunks));
      if (info) return info;
    }
    return undefined;
  }

  private open(parts: Buffer[]): void {
    if (this.windows.length >= MAX_CANDIDATES) return;
    const w = {chunks: [] as Buffer[], size: 0};
    for (const p of parts) this.append(w, p);
    this.windows.push(w);
  }

  private append(w: {chunks: Buffer[]; size: number}, chunk: Buffer): void {
    if (w.size >= WINDOW) return;
    // Copied: the chunk belongs to the tar parser, which may reuse it.
    const part = Buffer.from(chunk.subarray(0, WINDOW - w.size));
    w.chunks.push(part);
    w.size += part.length;
  }
}

function readUvarint(bytes: Buffer, offset: number): {value: number; end: number} | undefined {
  let value = 0;
  let shift = 0;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    if ((bytes[i] & 0x80) === 0) return {value, end: i + 1};
    shift += 7;
  }
  return undefined;
}
