/**
 * Runs the action's pipeline outside GitHub Actions: `--<input> <value>` (or `--<input>=<value>`)
 * for every action input, a bare `--<input>` meaning true. Flags become the same INPUT_*
 * variables the runner sets, so the CLI and the action cannot drift apart. It is the action's
 * own bundle (`node dist/index.js --cli ...`, what `npm run cli` runs): nothing to compile.
 */
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {homedir, tmpdir} from 'node:os';
import path from 'node:path';
import {INPUT_NAMES, inputVariable} from '../inputs/names.js';
import {SECRET_INPUTS, parseFlags, usage} from '../inputs/flags.js';
import {PlainOutput} from './plain-output.js';

export async function runCli(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const debug = argv.includes('--debug');
  let flags: Record<string, string>;
  try {
    flags = parseFlags(argv.filter(a => a !== '--debug'));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const restore = process.env.GITHUB_ACTIONS === 'true' ? () => undefined : plainStdout(debug);
  try {
    await runWithFlags(flags, debug);
  } finally {
    restore();
  }
}

async function runWithFlags(flags: Record<string, string>, debug: boolean): Promise<void> {
  for (const name of INPUT_NAMES) delete process.env[inputVariable(name)];
  for (const [name, value] of Object.entries(flags)) process.env[inputVariable(name)] = value;
  for (const [name, variable] of Object.entries(SECRET_INPUTS)) {
    if (process.env[variable]) process.env[inputVariable(name)] = process.env[variable];
  }
  if (debug) process.env.RUNNER_DEBUG = '1';
  // What the runner provides and @actions/tool-cache needs: a tool cache that outlives runs.
  process.env.RUNNER_TEMP ||= tmpdir();
  process.env.RUNNER_TOOL_CACHE ||= path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'multiarch-buildpack-action', 'tools');
  // The outputs go where GITHUB_OUTPUT says when it is set (a script reading them); otherwise
  // into a scratch file, from which the metadata is printed.
  const given = process.env.GITHUB_OUTPUT;
  const scratch = given ? undefined : await mkdtemp(path.join(tmpdir(), 'multiarch-buildpack-cli-'));
  const outputFile = given ?? path.join(scratch as string, 'outputs');
  if (!given) await writeFile(outputFile, '');
  process.env.GITHUB_OUTPUT = outputFile;
  const start = given
    ? await stat(given).then(
        s => s.size,
        () => 0
      )
    : 0;
  try {
    // Loaded here, not at the top: --help and bad flags answer without evaluating the pipeline.
    const {run} = await import(/* webpackMode: "eager" */ '../main.js');
    await run();
    const outputs = (await readFile(outputFile).catch(() => Buffer.alloc(0))).subarray(start).toString('utf8');
    const metadata = /^metadata<<(.+)\n([\s\S]*?)\n\1$/m.exec(outputs);
    if (metadata) console.log(JSON.stringify(JSON.parse(metadata[2]), null, 2));
  } finally {
    if (scratch) await rm(scratch, {recursive: true, force: true});
  }
}

/** Routes stdout through PlainOutput until the returned function is called. */
function plainStdout(debug: boolean): () => void {
  const original = process.stdout.write.bind(process.stdout);
  const plain = new PlainOutput(text => original(text), debug);
  process.stdout.write = (chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
    plain.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  };
  return () => {
    plain.flush();
    process.stdout.write = original;
  };
}
