import {spawnSync} from 'node:child_process';

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool the project did not write (skopeo, umoci, file, qemu) with an argument array. */
export function exec(command: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string} = {}): Exec {
  const r = spawnSync(command, args, {cwd: options.cwd, env: options.env, input: options.input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
  if (r.error) throw r.error;
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

/** Runs a tool and returns stdout, failing with its stderr when it exits non-zero. */
export function execOk(command: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string} = {}): string {
  const r = exec(command, args, options);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
