import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {UserError, withPath} from '../util/errors.js';
import {parseToml} from './toml.js';
import {readDependencies, type Dependency} from './dependencies.js';
import * as log from '../util/log.js';

export interface License {
  type?: string;
  uri?: string;
}

export interface Stack {
  id: string;
  mixins?: string[];
}

export interface Distro {
  name?: string;
  version?: string;
}

/** A `[[targets]]` entry; a missing field matches anything. */
export interface Target {
  os?: string;
  arch?: string;
  variant?: string;
  distros?: Distro[];
}

/** An `[[order.group]]` entry: pack's ModuleRef, the module's info plus `optional`. */
export interface ModuleRef {
  id: string;
  version?: string;
  name?: string;
  description?: string;
  homepage?: string;
  keywords?: string[];
  execEnv?: string[];
  licenses?: License[];
  clearEnv?: boolean;
  optional?: boolean;
}

/** A buildpack (`buildpack.toml`) or an image extension (`extension.toml`). */
export type ModuleKind = 'buildpack' | 'extension';

/** What the action needs from buildpack.toml or extension.toml. `text` is kept to re-render it exactly. */
export interface BuildpackDescriptor {
  kind: ModuleKind;
  file: string;
  text: string;
  /** The Buildpack API as pack records it: `<major>.<minor>`, `0.1` when not given. */
  api: string;
  id: string;
  name?: string;
  version?: string;
  homepage?: string;
  description?: string;
  keywords?: string[];
  /** `exec-env`: the execution environments the module is for. */
  execEnv?: string[];
  licenses: License[];
  clearEnv?: boolean;
  stacks: Stack[];
  targets: Target[];
  order?: {group: ModuleRef[]}[];
  includeFiles?: string[];
  prePackage?: string;
  dependencies: Dependency[];
}

/** The descriptor's file name and table for each kind. */
export const DESCRIPTOR_FILES: Record<ModuleKind, string> = {buildpack: 'buildpack.toml', extension: 'extension.toml'};

// The CNB spec's buildpack id grammar (buildpack.md): letters, digits, `.`, `/`, `-`.
const ID = /^[a-zA-Z0-9][a-zA-Z0-9./-]*$/;

/** The directory's buildpack.toml, or its extension.toml: an image extension. */
export async function readDescriptor(dir: string): Promise<BuildpackDescriptor> {
  const found: {kind: ModuleKind; file: string; text: string}[] = [];
  for (const kind of ['buildpack', 'extension'] as const) {
    const file = path.join(dir, DESCRIPTOR_FILES[kind]);
    try {
      found.push({kind, file, text: await readFile(file, 'utf8')});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw withPath(error, file);
    }
  }
  if (!found.length) {
    throw new UserError(`No buildpack.toml or extension.toml in ${dir}; set the "path" input to the buildpack's (or image extension's) directory.`);
  }
  if (found.length > 1) {
    throw new UserError(`${dir} holds both buildpack.toml and extension.toml; a directory is one buildpack or one image extension, so move one of them out.`);
  }
  const descriptor = parseDescriptor(found[0].text, found[0].file, found[0].kind);
  log.info(`${descriptor.kind === 'extension' ? 'Image extension ' : ''}${descriptor.id} from ${found[0].file}`);
  return descriptor;
}

export function parseDescriptor(text: string, file: string, kind: ModuleKind = 'buildpack'): BuildpackDescriptor {
  const doc = parseToml(text, file).value;
  const bp = table(doc[kind], file, `[${kind}]`);
  const id = str(bp.id, file, `${kind}.id`);
  if (!id || !ID.test(id)) {
    throw new UserError(`${file} has ${id ? `the ${kind} id "${id}", which is not valid` : `no ${kind}.id`}; set [${kind}] id to letters, digits, ".", "-" and "/" (for example "acme/my-${kind}").`, {file, key: `${kind}.id`});
  }
  const metadata = doc.metadata === undefined ? {} : table(doc.metadata, file, '[metadata]');
  const includeFiles = metadata['include-files'];
  if (includeFiles !== undefined && !isStringArray(includeFiles)) {
    throw new UserError(`${file} has a metadata.include-files that is not a list of paths; write include-files = ["bin/run", "${DESCRIPTOR_FILES[kind]}"].`, {file, key: 'metadata.include-files'});
  }
  const stacks = tables(doc.stacks, file, 'stacks').map(s => ({
    id: str(s.id, file, 'stacks.id') ?? '',
    ...(isStringArray(s.mixins) && s.mixins.length ? {mixins: s.mixins} : {})
  }));
  const targets = tables(doc.targets, file, 'targets').map((t, i) => readTarget(t, file, i));
  const order = doc.order === undefined ? undefined : tables(doc.order, file, 'order').map(o => ({group: tables(o.group, file, 'order.group').map(g => moduleRef(g, file))}));
  if (kind === 'extension' && order) {
    throw new UserError(`${file} has [[order]], but an image extension cannot be a composite; package its buildpacks as a composite buildpack instead.`, {file, key: 'order'});
  }
  if (order && (stacks.length || targets.length)) {
    // pack refuses it: a composite's stacks and targets are those of its components.
    throw new UserError(`${file} has [[order]] and ${targets.length ? '[[targets]]' : '[[stacks]]'}, which pack refuses for a composite; move the targets to package.toml and remove them from buildpack.toml.`, {
      file,
      key: targets.length ? 'targets' : 'stacks'
    });
  }
  return {
    kind,
    file,
    text,
    api: apiVersion(doc.api, file),
    id,
    name: str(bp.name, file, `${kind}.name`),
    version: versionField(bp.version, file, kind),
    homepage: str(bp.homepage, file, `${kind}.homepage`),
    description: str(bp.description, file, `${kind}.description`),
    keywords: isStringArray(bp.keywords) ? bp.keywords : undefined,
    execEnv: stringList(bp['exec-env'], file, `${kind}.exec-env`),
    licenses: licenses(bp.licenses, file, `${kind}.licenses`),
    clearEnv: bp['clear-env'] === true ? true : undefined,
    stacks,
    targets,
    order,
    includeFiles: includeFiles,
    prePackage: str(metadata['pre-package'], file, 'metadata.pre-package'),
    dependencies: readDependencies(metadata, file)
  };
}

function licenses(value: unknown, file: string, key: string): License[] {
  return tables(value, file, key).map(l => ({type: str(l.type, file, `${key}.type`), uri: str(l.uri, file, `${key}.uri`)}));
}

function moduleRef(g: Record<string, unknown>, file: string): ModuleRef {
  const ref: ModuleRef = {
    id: str(g.id, file, 'order.group.id') ?? '',
    version: str(g.version, file, 'order.group.version'),
    name: str(g.name, file, 'order.group.name'),
    description: str(g.description, file, 'order.group.description'),
    homepage: str(g.homepage, file, 'order.group.homepage'),
    keywords: stringList(g.keywords, file, 'order.group.keywords'),
    execEnv: stringList(g['exec-env'], file, 'order.group.exec-env'),
    licenses: g.licenses === undefined ? undefined : licenses(g.licenses, file, 'order.group.licenses'),
    clearEnv: g['clear-env'] === true ? true : undefined,
    optional: g.optional === true ? true : undefined
  };
  if (!ref.id) throw new UserError(`${file} has an [[order.group]] entry without an id; give each group entry the id (and version) of a component.`, {file, key: 'order.group'});
  return ref;
}

/**
 * The Buildpack API as pack and the lifecycle read it (`api.Version`: major and minor, written
 * back as `<major>.<minor>`); pack assumes 0.1 when it is missing.
 */
function apiVersion(value: unknown, file: string): string {
  if (value === undefined) return '0.1';
  const text = typeof value === 'number' ? String(value) : value;
  const match = typeof text === 'string' ? /^v?(\d+)(?:\.(\d+))?$/.exec(text.trim()) : null;
  if (!match) throw new UserError(`${file} has api = ${JSON.stringify(value)}, which is not a Buildpack API version; write it like api = "0.10".`, {file, key: 'api'});
  return `${Number(match[1])}.${Number(match[2] ?? 0)}`;
}

function stringList(value: unknown, file: string, key: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!isStringArray(value)) throw new UserError(`${file} has a ${key} that is not a list of strings; write ${key.split('.').pop()} = ["..."].`, {file, key});
  return value.length ? value : undefined;
}

function readTarget(t: Record<string, unknown>, file: string, index: number): Target {
  const at = (key: string): string => `targets.${index}.${key}`;
  const field = (value: unknown, key: string): string | undefined => str(value, file, `targets.${key}`, at(key));
  return {
    os: field(t.os, 'os'),
    arch: field(t.arch, 'arch'),
    variant: field(t.variant, 'variant'),
    distros:
      t.distros === undefined
        ? undefined
        : tables(t.distros, file, 'targets.distros').map(d => ({
            name: field(d.name, 'distros.name'),
            version: field(d.version, 'distros.version')
          }))
  };
}

function versionField(value: unknown, file: string, kind: ModuleKind): string | undefined {
  // A bare number (version = 1.2) is a TOML float; accept it as its text would have been.
  if (typeof value === 'number') return String(value);
  return str(value, file, `${kind}.version`);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(v => typeof v === 'string');
}

/** `key` names it in the message; `at`, where it is (with array indices), for the line. */
function str(value: unknown, file: string, key: string, at: string = key): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new UserError(`${file} has a ${key} that is not a string; quote its value.`, {file, key: at});
  }
  return value;
}

function table(value: unknown, file: string, key: string): Record<string, unknown> {
  if (value === undefined) {
    throw new UserError(`${file} has no ${key} table; add it with at least an id.`, {file});
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${file} has a ${key} that is not a table; write it as a [table].`, {file, key: key.replace(/^\[|\]$/g, '')});
  }
  return value as Record<string, unknown>;
}

function tables(value: unknown, file: string, key: string): Record<string, unknown>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(v => typeof v === 'object' && v !== null && !Array.isArray(v))) {
    throw new UserError(`${file} has a ${key} that is not an array of tables; write it as [[${key}]].`, {file, key});
  }
  return value as Record<string, unknown>[];
}

/** The id as a path component: `/` becomes `_` (pack's EscapedID). */
export function escapedId(id: string): string {
  return id.replaceAll('/', '_');
}
