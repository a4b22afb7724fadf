/**
 * The error taxonomy. Every failure the action reports is one of:
 * - UserError: something the user can fix (an input, a file, credentials). Its message is one
 *   sentence: what is wrong, where, and how to fix it.
 * - ExternalError: the outside world failed (a registry, the network, the disk); the sentence
 *   says what failed and `cause` carries the original error.
 * - anything else: a bug, reported as "Internal error".
 * A tool's output, when it explains the failure, travels in `details`, not in the message.
 */
export interface FailureOptions {
  cause?: unknown;
  /** Output that explains the failure (a build log), printed before the error. */
  details?: string;
  /** The file the problem is in, for GitHub's annotation of it. */
  file?: string;
  line?: number;
  column?: number;
  /** The dotted TOML key the problem is at (`buildpack.id`), for the reader of `file` to locate. */
  key?: string;
}

abstract class Failure extends Error {
  readonly details?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly key?: string;

  constructor(message: string, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause});
    this.details = options.details;
    this.file = options.file;
    this.line = options.line;
    this.column = options.column;
    this.key = options.key;
  }
}

/**
 * A failure the user can fix: an input, a file of theirs, credentials, a choice of version.
 * Its message is the sentence the step ends with; `file`, `line` and `key` say where.
 */
export class UserError extends Failure {
  override name = 'UserError';
}

/** A failure of the outside world: a registry, the network, the disk. */
export class ExternalError extends Failure {
  override name = 'ExternalError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Gives a file-system error the path it concerns when it has none (writes through a stream
 * name no file), so that its report can name it.
 */
export function withPath(error: unknown, file: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && !e.path) e.path = file;
  return error;
}
