import {parse} from 'csv-parse/sync';

export interface ListOptions {
  /** Keep commas inside items: one item per line (docker's annotations, labels, build-args). */
  ignoreComma?: boolean;
}

/**
 * A List input as docker/actions-toolkit's Util.getList reads one, with the csv-parse rules
 * docker's actions use: newline-separated records, items separated by commas (unless
 * `ignoreComma`), double quotes around an item that holds a comma, full-line `#` comments
 * (a `#` inside a value is kept, as docker/metadata-action v6 does), empty items dropped,
 * items trimmed.
 */
export function parseList(value: string, options: ListOptions = {}): string[] {
  if (value.trim() === '') return [];
  const records: string[][] = parse(value, {
    columns: false,
    relaxQuotes: true,
    relaxColumnCount: true,
    skipEmptyLines: true,
    comment: '#',
    comment_no_infix: true
  });
  const items: string[] = [];
  for (const record of records) {
    if (record.length === 1) items.push(...(options.ignoreComma ? [record[0]] : record[0].split(',')));
    else if (options.ignoreComma) items.push(record.join(','));
    else items.push(...record);
  }
  return items.map(item => item.trim()).filter(item => item.length > 0);
}

/** Splits a List input that holds one item per line (values may contain commas and quotes: JSON). */
export function parseLines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map(line => line.trim())
    .filter(line => line.length > 0 && !line.startsWith('#'));
}
