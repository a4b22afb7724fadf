import * as core from '@actions/core';
import {rmSync} from 'node:fs';

/**
 * The run's cancellation: the runner sends SIGINT, then SIGTERM, when a job is cancelled. The
 * first signal aborts this controller (child processes are stopped, requests in flight
 * cancelled, streams destroyed), and the run unwinds, removing what it made. Whatever it had
 * not removed by the time the process exits, by any path, is removed then (`trackTemporary`).
 */
const controller = new AbortController();
export const cancellation: AbortSignal = controller.signal;

/** Which signal cancelled the run, if one did. */
export let cancelledBy: NodeJS.Signals | undefined;

/** Thrown at the boundaries between phases once the run is cancelled. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

export function throwIfCancelled(): void {
  if (controller.signal.aborted) throw new CancelledError(`The run was cancelled (${cancelledBy ?? 'signal'})`);
}

const temporaries = new Set<string>();

/** A file or folder of the run's own that must not outlive it (staging, work, `*.partial`). */
export function trackTemporary(path: string): void {
  temporaries.add(path);
}

/** The path is finished (renamed into place) or already removed. */
export function releaseTemporary(path: string): void {
  temporaries.delete(path);
}

function removeTemporaries(): void {
  for (const path of temporaries) {
    try {
      rmSync(path, {recursive: true, force: true});
    } catch {
      // the exit goes on; nothing better can be done here
    }
  }
  temporaries.clear();
}

let installed = false;

/** Listens for SIGINT and SIGTERM, and removes the temporaries at exit. Idempotent. */
export function installCancellation(graceMs = 5_000): void {
  if (installed) return;
  installed = true;
  process.on('exit', removeTemporaries);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (cancelledBy) {
      // A second signal: stop waiting for the unwinding.
      process.exit(process.exitCode || 1);
    }
    cancelledBy = signal;
    core.info(`Received ${signal}: cancelling the run.`);
    controller.abort(new Error(`cancelled by ${signal}`));
    // The runner kills the process some seconds after its signals; exit first, cleaned up.
    setTimeout(() => {
      process.exitCode = 1;
      process.exit(1);
    }, graceMs).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
