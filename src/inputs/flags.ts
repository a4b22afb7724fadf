import {INPUT_NAMES} from './names.js';

export function usage(): string {
  const flags = INPUT_NAMES.filter(n => !SECRET_INPUTS[n]);
  return `usage: npm run cli -- [--<input> <value>]... [--debug]\n   (or node dist/index.js --cli ...)\ninputs: ${flags.join(', ')}\nsecrets from the environment: ${Object.values(SECRET_INPUTS).join(', ')}\n--debug: also print debug lines and, on failure, the stack`;
}

/** Inputs that must not travel in argv, where any process on the machine can read them. */
export const SECRET_INPUTS: Record<string, string> = {'registry-password': 'REGISTRY_PASSWORD'};

export function parseFlags(argv: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (match && SECRET_INPUTS[match[1]]) {
      throw new Error(`--${match[1]} is not accepted on the command line, where other processes can read it; set the ${SECRET_INPUTS[match[1]]} environment variable instead`);
    }
    if (!match || !(INPUT_NAMES as readonly string[]).includes(match[1])) {
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n${usage()}`);
    }
    if (match[2] !== undefined) values[match[1]] = match[2];
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) values[match[1]] = argv[++i];
    else values[match[1]] = 'true';
  }
  return values;
}
