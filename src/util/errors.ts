/**
 * An error caused by the user's input (action inputs, buildpack files, references). Its message
 * is one sentence meant for the job log: what is wrong, where, and how to fix it. main.ts prints
 * it without a stack trace; anything else that escapes is an internal failure.
 */
export class InputError extends Error {
  override name = 'InputError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
