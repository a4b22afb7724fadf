import { getExecOutput } from '@actions/exec';

export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * Runs a program with an argument array (never a shell string built from inputs) and captures
 * its output, so parallel runs can print their logs one block at a time. A seam for tests.
 */
export type ProcessRunner = (command: string, args: string[], options?: ProcessOptions) => Promise<ProcessResult>;

export const runProcess: ProcessRunner = async (command, args, options = {}) => {
  const result = await getExecOutput(command, args, {
    cwd: options.cwd,
    env: options.env,
    silent: true,
    ignoreReturnCode: true,
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
};

/** The last non-empty line a tool printed on stderr (or stdout), for one-sentence errors. */
export function lastLine(result: ProcessResult): string {
  const lines = `${result.stderr}\n${result.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const fromStderr = result.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return (fromStderr.at(-1) ?? lines.at(-1) ?? '').replace(/\.$/, '');
}

/** Environment for a child: the current one plus `extra`, without undefined values. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return { ...env, ...extra };
}
