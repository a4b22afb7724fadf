/**
 * Workflow commands (`::group::`, `::debug::`, `::warning file=...::`) mean something only to the
 * Actions runner. Run from a terminal, the CLI writes what they stand for: a group as a plain
 * heading, a warning or error as `warning: ...` with its file and line, debug lines only with
 * `--debug`, and the commands that only the runner acts on (masks, stop-commands frames) not at
 * all. Text framed by `::stop-commands::<token>` is printed as it is: it came from outside.
 */
export class PlainOutput {
  private pending = '';
  private frame?: string;
  private readonly write: (text: string) => void;
  private readonly debug: boolean;

  constructor(write: (text: string) => void, debug: boolean) {
    this.write = write;
    this.debug = debug;
  }

  /** Takes stdout text as @actions/core writes it; whole lines are translated as they complete. */
  push(text: string): void {
    this.pending += text;
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      this.line(this.pending.slice(0, newline).replace(/\r$/, ''));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }
  }

  /** Whatever is left without a final newline. */
  flush(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }

  private line(line: string): void {
    if (this.frame !== undefined) {
      if (line === `::${this.frame}::`) this.frame = undefined;
      else this.write(`${line}\n`);
      return;
    }
    const command = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/s.exec(line);
    if (!command) {
      this.write(`${line}\n`);
      return;
    }
    const [, name, properties, data] = command;
    switch (name) {
      case 'group':
        this.write(`\n== ${unescapeData(data)}\n`);
        return;
      case 'endgroup':
        return;
      case 'debug':
        if (this.debug) this.write(`debug: ${unescapeData(data)}\n`);
        return;
      case 'notice':
      case 'warning':
      case 'error':
        this.write(`${name}: ${location(properties)}${unescapeData(data)}\n`);
        return;
      case 'stop-commands':
        this.frame = data;
        return;
      case 'add-mask':
      case 'save-state':
      case 'set-output':
      case 'echo':
        return;
      default:
        this.write(`${line}\n`);
    }
  }
}

/** `file=a/b.toml,line=3,col=5` as `a/b.toml:3:5: `. */
function location(properties: string | undefined): string {
  if (!properties) return '';
  const values = Object.fromEntries(
    properties.split(',').map(p => {
      const eq = p.indexOf('=');
      return [p.slice(0, eq), unescapeProperty(p.slice(eq + 1))];
    })
  );
  if (!values.file) return values.title ? `${values.title}: ` : '';
  return `${[values.file, values.line, values.line && values.col].filter(Boolean).join(':')}: `;
}

// @actions/core's escapes, undone.
function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function unescapeProperty(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
}
