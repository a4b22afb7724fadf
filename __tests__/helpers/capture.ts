/** Process-wide state a unit test sets for a while: environment variables, stdout. */

/** Runs fn with the environment variables set (undefined: removed), restoring them after. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/**
 * What @actions/core printed while fn ran (it writes strings to stdout). The test runner's own
 * reports (buffers, from the child process it runs this file in) are passed through.
 */
export async function captured<T>(fn: () => Promise<T> | T): Promise<{value: T; out: string}> {
  const original = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = (chunk: string | Uint8Array, ...rest: never[]): boolean => {
    if (typeof chunk === 'string') {
      out += chunk;
      return true;
    }
    return original(chunk, ...rest);
  };
  try {
    const value = await fn();
    return {value, out};
  } finally {
    process.stdout.write = original;
  }
}
