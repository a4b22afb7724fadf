import {ParseError, getStaticTOMLValue, parseTOML, type AST} from 'toml-eslint-parser';
import {UserError} from '../util/errors.js';

/**
 * A TOML file as its author wrote it, parsed with source positions (toml-eslint-parser, a TOML
 * 1.0 parser with an AST), so that the action can change a value or drop a table and leave every
 * other byte (comments, order, CRLF line endings, a UTF-8 BOM) as it was.
 */
export interface TomlDocument {
  file: string;
  /** The text as read, BOM included. */
  text: string;
  /** The text the positions refer to: without the BOM. */
  body: string;
  bom: boolean;
  /** The line ending the file uses, for lines the action adds. */
  eol: '\n' | '\r\n';
  ast: AST.TOMLProgram;
  value: Record<string, unknown>;
}

/** A replacement of `[start, end)` of the body by `text`. */
export interface TomlEdit {
  start: number;
  end: number;
  text: string;
}

export function parseToml(text: string, file: string): TomlDocument {
  const bom = text.startsWith('\uFEFF');
  const body = bom ? text.slice(1) : text;
  let ast: AST.TOMLProgram;
  try {
    ast = parseTOML(body);
  } catch (error) {
    if (error instanceof ParseError) {
      const reason = error.message.split('\n')[0].replace(/\.$/, '');
      throw new UserError(`${file} is not valid TOML at line ${error.lineNumber}, column ${error.column + 1} (${reason}); fix the syntax there.`, {
        cause: error,
        file,
        line: error.lineNumber,
        column: error.column + 1
      });
    }
    throw error;
  }
  const value = getStaticTOMLValue(ast) as Record<string, unknown>;
  return {file, text, body, bom, eol: body.includes('\r\n') ? '\r\n' : '\n', ast, value};
}

/** Applies non-overlapping edits and puts the BOM back. */
export function applyEdits(doc: TomlDocument, edits: TomlEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start);
  let body = doc.body;
  let previousStart = Infinity;
  for (const e of sorted) {
    if (e.end > previousStart) throw new Error(`overlapping TOML edits in ${doc.file}`);
    body = body.slice(0, e.start) + e.text + body.slice(e.end);
    previousStart = e.start;
  }
  return (doc.bom ? '\uFEFF' : '') + body;
}

type Path = (string | number)[];

function keyNames(key: AST.TOMLKey): string[] {
  return key.keys.map(k => (k.type === 'TOMLBare' ? k.name : k.value));
}

/** Every key/value of the document with its full path (tables, dotted keys, inline tables). */
export function* keyValues(doc: TomlDocument): Generator<{path: Path; node: AST.TOMLKeyValue}> {
  function* within(prefix: Path, body: AST.TOMLKeyValue[]): Generator<{path: Path; node: AST.TOMLKeyValue}> {
    for (const kv of body) {
      const path = [...prefix, ...keyNames(kv.key)];
      yield {path, node: kv};
      if (kv.value.type === 'TOMLInlineTable') yield* within(path, kv.value.body);
      if (kv.value.type === 'TOMLArray') {
        for (const [i, item] of kv.value.elements.entries()) if (item.type === 'TOMLInlineTable') yield* within([...path, i], item.body);
      }
    }
  }
  for (const item of doc.ast.body[0].body) {
    if (item.type === 'TOMLKeyValue') yield* within([], [item]);
    else yield* within(item.resolvedKey, item.body);
  }
}

export function findKeyValue(doc: TomlDocument, path: Path): AST.TOMLKeyValue | undefined {
  for (const {path: p, node} of keyValues(doc)) if (samePath(p, path)) return node;
  return undefined;
}

function samePath(a: Path, b: Path): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function startsWith(a: Path, prefix: Path): boolean {
  return a.length >= prefix.length && prefix.every((x, i) => a[i] === x);
}

/**
 * The line (1-based) where a dotted key is written (`targets.os` is the first target's os,
 * `targets.1.os` the second's): its key/value, else its table header, else its parent's.
 */
export function lineOf(doc: TomlDocument, key: string): number | undefined {
  // `dependencies.2.uri` names the third element's; `dependencies.uri` the first one written.
  const matches = (p: Path, wanted: string): boolean => p.join('.') === wanted || p.filter(x => typeof x === 'string').join('.') === wanted;
  for (let parts = key.split('.'); parts.length; parts = parts.slice(0, -1)) {
    const wanted = parts.join('.');
    for (const {path, node} of keyValues(doc)) if (matches(path, wanted)) return node.loc.start.line;
    const header = tables(doc).find(t => matches(t.resolvedKey, wanted));
    if (header) return header.loc.start.line;
  }
  return undefined;
}

/** The tables of the document in source order. */
export function tables(doc: TomlDocument): AST.TOMLTable[] {
  return doc.ast.body[0].body.filter((n): n is AST.TOMLTable => n.type === 'TOMLTable');
}

/** A string as TOML writes it: a basic string (JSON's escapes are TOML's, for these characters). */
export function tomlString(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Edits that set `<table>.<key>` to a string: the value replaced where it is written, else a line
 * added right under the `[table]` header, in the file's line endings and indentation.
 */
export function setString(doc: TomlDocument, table: string, key: string, value: string): TomlEdit {
  const existing = findKeyValue(doc, [table, key]);
  if (existing) return {start: existing.value.range[0], end: existing.value.range[1], text: tomlString(value)};
  const header = tables(doc).find(t => t.kind === 'standard' && samePath(t.resolvedKey, [table]));
  if (!header) {
    throw new UserError(`Could not write ${key} into ${doc.file}, whose [${table}] is not a table of its own; write [${table}] with ${key} = "..." on a line of its own.`, {file: doc.file});
  }
  const headerEnd = header.key.range[1];
  const lineEnd = doc.body.indexOf('\n', headerEnd);
  const at = lineEnd < 0 ? doc.body.length : lineEnd + 1;
  const first = header.body[0];
  const indent = first ? doc.body.slice(doc.body.lastIndexOf('\n', first.range[0]) + 1, first.range[0]).replace(/\S.*$/s, '') : '';
  const prefix = lineEnd < 0 ? doc.eol : '';
  return {start: at, end: at, text: `${prefix}${indent}${key} = ${tomlString(value)}${lineEnd < 0 ? '' : doc.eol}`};
}

/** One element of an array of tables (`[[a.b]]` or `a.b = [{...}]`) and where it is written. */
export interface TableElement {
  index: number;
  /** Ranges that hold it (its header block and its sub-tables' blocks, or its inline table and comma). */
  ranges: [number, number][];
  /** Key/values by their path inside the element. */
  find(key: string): AST.TOMLKeyValue | undefined;
}

/**
 * The elements of the array of tables at `path`, each with the source ranges that hold it: a
 * `[[path]]` element runs from its header to the next table header that is not one of its
 * sub-tables; an inline element (`path = [{...}, {...}]`) is its inline table and the comma after.
 */
export function arrayOfTables(doc: TomlDocument, path: string[]): TableElement[] {
  const all = tables(doc);
  const elements = new Map<number, TableElement>();
  const element = (index: number): TableElement => {
    let e = elements.get(index);
    if (!e) {
      e = {index, ranges: [], find: key => findKeyValue(doc, [...path, index, key])};
      elements.set(index, e);
    }
    return e;
  };
  all.forEach((t, i) => {
    if (!startsWith(t.resolvedKey, path) || t.resolvedKey.length <= path.length || typeof t.resolvedKey[path.length] !== 'number') return;
    const end = i + 1 < all.length ? all[i + 1].range[0] : doc.body.length;
    element(t.resolvedKey[path.length] as number).ranges.push([t.range[0], end]);
  });
  const inline = findKeyValue(doc, path);
  if (inline?.value.type === 'TOMLArray') {
    const items = inline.value.elements;
    items.forEach((item, index) => {
      let end = item.range[1];
      const rest = doc.body.slice(end);
      // Up to the next element, or just the comma after the last one.
      const comma = (index + 1 < items.length ? /^\s*,\s*/ : /^\s*,?[ \t]*/).exec(rest);
      if (comma) end += comma[0].length;
      element(index).ranges.push([item.range[0], end]);
    });
  }
  return [...elements.values()].sort((a, b) => a.index - b.index);
}
