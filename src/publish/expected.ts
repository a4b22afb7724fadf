import {UserError} from '../util/errors.js';

/**
 * The index about to be published must be the one a draft release promised: checked before
 * anything is sent to any registry.
 */
export function checkExpectedDigest(actual: string, expected: string | undefined): void {
  if (!expected || actual === expected) return;
  throw new UserError(`The index to publish is ${actual}, but input "expected-digest" is ${expected}; nothing was published: publish the layout the draft release was made from (mode: publish), or update expected-digest.`);
}
