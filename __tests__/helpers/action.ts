import {spawn} from 'node:child_process';
import {chown, mkdtemp, readFile, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {DIST} from './paths.js';

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** GITHUB_STATE as the main step left it (what the post step will read). */
  state: string;
  runnerTemp: string;
  /** The ::error:: lines the run printed. */
  errors: string[];
}

/** Parses GITHUB_OUTPUT's `name<<DELIM ... DELIM` records. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
    outputs[m[1]] = value.join('\n');
  }
  return outputs;
}

/**
 * Runs the committed bundle exactly as the runner does: `node dist/index.js` on this Node (24),
 * inputs as INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files and a RUNNER_TEMP.
 */
export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  runnerTemp?: string;
  signal?: AbortSignal;
  /** Sends `signal` to the action once `when` (asked on every output and every 50 ms) says so: what the runner does on cancel. */
  interrupt?: {signal: NodeJS.Signals; when: (stdout: string) => boolean | Promise<boolean>};
  /** Runs the action as this user and group (tests as root, for permissions). */
  user?: {uid: number; gid: number};
}

export async function runAction(inputs: Record<string, string>, options: RunOptions = {}): Promise<ActionRun> {
  const runnerTemp = options.runnerTemp ?? (await mkdtemp(path.join(tmpdir(), 'runner-temp-')));
  const outputFile = path.join(runnerTemp, 'github_output');
  const summaryFile = path.join(runnerTemp, 'step_summary');
  const stateFile = path.join(runnerTemp, 'github_state');
  await writeFile(stateFile, '');
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  if (options.user) for (const f of [stateFile, outputFile, summaryFile]) await chown(f, options.user.uid, options.user.gid);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('INPUT_') && !k.startsWith('GITHUB_') && k !== 'RUNNER_DEBUG') env[k] = v;
  }
  Object.assign(env, {
    RUNNER_TEMP: runnerTemp,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_STATE: stateFile,
    RUNNER_TOOL_CACHE: path.join(runnerTemp, 'toolcache'),
    GITHUB_ACTIONS: 'true',
    ...options.env
  });
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const child = spawn(process.execPath, [DIST], {cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal, killSignal: 'SIGKILL', ...(options.user ?? {})});
  child.on('error', () => undefined); // an abort kills the child; its exit code says so
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let poll: NodeJS.Timeout | undefined;
  if (options.interrupt) {
    const {signal, when} = options.interrupt;
    let sent = false;
    poll = setInterval(() => {
      if (sent) return;
      void Promise.resolve(when(stdout)).then(now => {
        if (now && !sent) {
          sent = true;
          child.kill(signal);
        }
      });
    }, 50);
  }
  const code = await new Promise<number | null>(resolve => child.on('close', resolve));
  if (poll) clearInterval(poll);
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(await readFile(outputFile, 'utf8')),
    summary: await readFile(summaryFile, 'utf8'),
    state: await readFile(stateFile, 'utf8'),
    runnerTemp,
    errors: stdout.split('\n').filter(l => l.startsWith('::error'))
  };
}
