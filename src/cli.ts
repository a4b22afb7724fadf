/**
 * Runs the action's pipeline outside GitHub Actions: `--<input> <value>` (or `--<input>=<value>`)
 * for every action input, a bare `--<input>` meaning true. Flags become the same INPUT_*
 * variables the runner sets, so the CLI and the action cannot drift apart.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { INPUT_NAMES, inputVariable } from './inputs/names.js';
import { SECRET_INPUTS, parseFlags, usage } from './inputs/flags.js';
import { run } from './main.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  let flags: Record<string, string>;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  for (const name of INPUT_NAMES) delete process.env[inputVariable(name)];
  for (const [name, value] of Object.entries(flags)) process.env[inputVariable(name)] = value;
  for (const [name, variable] of Object.entries(SECRET_INPUTS)) {
    if (process.env[variable]) process.env[inputVariable(name)] = process.env[variable];
  }
  // What the runner provides and @actions/tool-cache needs: a tool cache that outlives runs.
  process.env.RUNNER_TEMP ||= tmpdir();
  process.env.RUNNER_TOOL_CACHE ||= path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'multiarch-buildpack-action', 'tools');
  const scratch = await mkdtemp(path.join(tmpdir(), 'multiarch-buildpack-cli-'));
  const outputFile = path.join(scratch, 'outputs');
  await writeFile(outputFile, '');
  process.env.GITHUB_OUTPUT = outputFile;
  try {
    await run();
    const outputs = await readFile(outputFile, 'utf8').catch(() => '');
    const metadata = /^metadata<<(.+)\n([\s\S]*?)\n\1$/m.exec(outputs);
    if (metadata) console.log(JSON.stringify(JSON.parse(metadata[2]), null, 2));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
