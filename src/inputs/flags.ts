import { INPUT_NAMES } from './names.js';

export function usage(): string {
  return `usage: npm run cli -- [--<input> <value>]...\ninputs: ${INPUT_NAMES.join(', ')}`;
}

export function parseFlags(argv: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match || !(INPUT_NAMES as readonly string[]).includes(match[1])) {
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n${usage()}`);
    }
    if (match[2] !== undefined) values[match[1]] = match[2];
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) values[match[1]] = argv[++i];
    else values[match[1]] = 'true';
  }
  return values;
}

