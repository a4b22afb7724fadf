import * as core from '@actions/core';
import {randomUUID} from 'node:crypto';

// The runner reads `::command::` at the start of a line (after white space) and the older
// `##[command]` anywhere in it.
const COMMAND_LIKE = /^\s*::|##\[/m;

/**
 * Logs text that may hold something from outside (file names, tool output, registry messages)
 * so that none of its lines can act as a workflow command: text that looks like one is framed by
 * `::stop-commands::<random token>` ... `::<token>::`, which the runner documents for untrusted
 * output. Everything else is logged as it is.
 */
export function info(text: string): void {
  if (!COMMAND_LIKE.test(text)) {
    core.info(text);
    return;
  }
  const token = randomUUID();
  core.info(`::stop-commands::${token}`);
  core.info(text);
  core.info(`::${token}::`);
}

/** Whether a line of text could act as a workflow command if printed on its own. */
export function looksLikeCommand(text: string): boolean {
  return COMMAND_LIKE.test(text);
}
