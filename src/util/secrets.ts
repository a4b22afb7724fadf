import * as core from '@actions/core';

const secrets = new Set<string>();

/**
 * Masks a secret in the log (core.setSecret) and remembers it, so that no child process is
 * handed an environment variable holding it. Every credential and token goes through here.
 */
export function registerSecret(value: string): void {
  if (!value) return;
  core.setSecret(value);
  secrets.add(value);
}

/** Whether a text holds any secret the action knows of. */
export function holdsSecret(text: string): boolean {
  for (const secret of secrets) if (secret.length >= 4 && text.includes(secret)) return true;
  return false;
}
