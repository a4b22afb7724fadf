/**
 * Splits a List input: newlines and commas separate items, items are trimmed, empty items and
 * `#` comment lines are dropped (docker/actions-toolkit's getInputList behaves the same way).
 */
export function parseList(value: string): string[] {
  return value
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Splits a List input that holds one item per line (values may contain commas). */
export function parseLines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}
