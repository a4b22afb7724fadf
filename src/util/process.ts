import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {constants} from 'node:os';
import {cancellation} from './cancel.js';
import {holdsSecret} from './secrets.js';

export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Both streams in the order they arrived, as a terminal would show them. */
  output?: string;
  /** The signal that stopped it (`exitCode` is then 128 + its number, as a shell reports it). */
  signal?: NodeJS.Signals;
}

export interface ProcessOptions {
  cwd?: string;
  /** The whole environment of the child; default `childEnv({})`. */
  env?: Record<string, string>;
}

/**
 * Runs a program with an argument array (never a shell string built from inputs) and captures
 * its output, so parallel runs can print their logs one block at a time. A seam for tests.
 */
export type ProcessRunner = (command: string, args: string[], options?: ProcessOptions) => Promise<ProcessResult>;

/** Output kept per stream: enough for any build log, not enough to exhaust memory. */
const MAX_OUTPUT = 16 * 1024 * 1024;

/**
 * Spawns the program in a process group of its own, so that a cancelled run stops it and
 * everything it started (bash, then go build, then the compiler): SIGTERM to the group, then
 * SIGKILL if it is still there a few seconds later.
 */
export const runProcess: ProcessRunner = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    if (cancellation.aborted) {
      reject(new ProcessError(command, 'the run was cancelled before it started'));
      return;
    }
    // Windows has no process groups: there the child alone is stopped.
    const group = process.platform !== 'win32';
    const child = spawn(command, args, {cwd: options.cwd, env: options.env ?? childEnv({}), stdio: ['ignore', 'pipe', 'pipe'], detached: group});
    let stdout = '';
    let stderr = '';
    let output = '';
    // Decoded as UTF-8 per stream, so a character split across two reads stays one character.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
      if (output.length < MAX_OUTPUT) output += d;
    });
    child.stderr.on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
      if (output.length < MAX_OUTPUT) output += d;
    });
    let killer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (child.pid === undefined || child.exitCode !== null) return;
      const signal = (name: NodeJS.Signals): void => {
        try {
          if (group) process.kill(-(child.pid as number), name);
          else child.kill(name);
        } catch {
          // already gone
        }
      };
      signal('SIGTERM');
      killer = setTimeout(() => signal('SIGKILL'), 3_000);
      killer.unref();
    };
    cancellation.addEventListener('abort', stop, {once: true});
    child.on('error', (error: NodeJS.ErrnoException) => {
      cancellation.removeEventListener('abort', stop);
      if (error.code !== 'ENOENT') {
        // Not executable (EACCES), not a program (ENOEXEC), too long an argument list (E2BIG), ...
        reject(new ProcessError(command, `cannot be started (${error.code ?? error.message})`, error));
        return;
      }
      // spawn says ENOENT both for a missing program and for a missing working directory.
      if (options.cwd && !existsSync(options.cwd)) reject(new ProcessError(command, `cannot start in ${options.cwd}, which does not exist`, error));
      else reject(new ProcessError(command, 'not found', error, {notFound: true}));
    });
    child.on('close', (code, signal) => {
      cancellation.removeEventListener('abort', stop);
      if (killer) clearTimeout(killer);
      if (cancellation.aborted) {
        reject(new ProcessError(command, 'stopped: the run was cancelled'));
        return;
      }
      if (code === null && signal) resolve({exitCode: 128 + (constants.signals[signal] ?? 0), signal, stdout, stderr, output});
      else resolve({exitCode: code ?? 1, stdout, stderr, output});
    });
  });

/** A program that could not run, or was stopped. */
export class ProcessError extends Error {
  override name = 'ProcessError';
  readonly command: string;
  /** The program is not there (not on PATH, or no such file). */
  readonly notFound: boolean;
  constructor(command: string, what: string, cause?: unknown, options: {notFound?: boolean} = {}) {
    super(`${command}: ${what}`, cause === undefined ? undefined : {cause});
    this.command = command;
    this.notFound = options.notFound ?? false;
  }
}

/** `, stopped by SIGSEGV` when a signal ended the program (a crash under qemu, the OOM killer), else nothing: for "(exit code 139, stopped by SIGSEGV)". */
export function stoppedBy(result: Pick<ProcessResult, 'signal'>): string {
  return result.signal ? `, stopped by ${result.signal}` : '';
}

/** The last non-empty line a tool printed on stderr (or stdout), for one-sentence errors. */
export function lastLine(result: ProcessResult): string {
  const lines = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean);
  const fromStderr = result.stderr
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean);
  return (fromStderr.at(-1) ?? lines.at(-1) ?? '').replace(/\.$/, '').slice(0, 500);
}

/**
 * Variables a child never gets: the action's inputs (the password among them), the runner's
 * tokens for the action's own services, and the files of this step's outputs and state.
 */
const WITHHELD =
  /^(INPUT_.*|ACTIONS_RUNTIME_TOKEN|ACTIONS_RUNTIME_URL|ACTIONS_ID_TOKEN_REQUEST_TOKEN|ACTIONS_ID_TOKEN_REQUEST_URL|ACTIONS_RESULTS_URL|ACTIONS_CACHE_URL|ACTIONS_CACHE_SERVICE_V2|GITHUB_OUTPUT|GITHUB_STATE|GITHUB_STEP_SUMMARY|REGISTRY_PASSWORD)$/i;

/**
 * The environment of a child: the step's environment without what it must not see (WITHHELD,
 * and any variable holding a secret the action knows of), plus `extra`.
 */
export function childEnv(extra: Record<string, string>, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || WITHHELD.test(k) || holdsSecret(v)) continue;
    env[k] = v;
  }
  return {...env, ...extra};
}
