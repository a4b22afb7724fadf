import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, withPath } from '../util/errors.js';
import { parseToml } from './toml.js';
import { readDependencies, type Dependency } from './dependencies.js';
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

export interface ModuleRef {
  id: string;
  version?: string;
  optional?: boolean;
}

/** What the action needs from buildpack.toml. `text` is kept to re-render it exactly. */
export interface BuildpackDescriptor {
  file: string;
  text: string;
  api: string;
  id: string;
  name?: string;
  version?: string;
  homepage?: string;
  description?: string;
  keywords?: string[];
  licenses: License[];
  stacks: Stack[];
  targets: Target[];
  order?: { group: ModuleRef[] }[];
  includeFiles?: string[];
  prePackage?: string;
  dependencies: Dependency[];
}

// The CNB spec's buildpack id grammar (buildpack.md): letters, digits, `.`, `/`, `-`.
const ID = /^[a-zA-Z0-9][a-zA-Z0-9./-]*$/;

export async function readDescriptor(dir: string): Promise<BuildpackDescriptor> {
  const file = path.join(dir, 'buildpack.toml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`No buildpack.toml in ${dir}; set the "path" input to the buildpack's directory.`, { cause: error });
    }
    throw withPath(error, file);
  }
  const descriptor = parseDescriptor(text, file);
  log.info(`${descriptor.id} from ${file}`);
  return descriptor;
}

export function parseDescriptor(text: string, file: string): BuildpackDescriptor {
  const doc = parseToml(text, file).value;
  const bp = table(doc.buildpack, file, '[buildpack]');
  const id = str(bp.id, file, 'buildpack.id');
  if (!id || !ID.test(id)) {
    throw new InputError(
      `${file} has ${id ? `the buildpack id "${id}", which is not valid` : 'no buildpack.id'}; set [buildpack] id to letters, digits, ".", "-" and "/" (for example "acme/my-buildpack").`,
    );
  }
  const metadata = doc.metadata === undefined ? {} : table(doc.metadata, file, '[metadata]');
  const includeFiles = metadata['include-files'];
  if (includeFiles !== undefined && !isStringArray(includeFiles)) {
    throw new InputError(`${file} has a metadata.include-files that is not a list of paths; write include-files = ["bin/run", "buildpack.toml"].`);
  }
  return {
    file,
    text,
    api: str(doc.api, file, 'api') ?? '0.2',
    id,
    name: str(bp.name, file, 'buildpack.name'),
    version: versionField(bp.version, file),
    homepage: str(bp.homepage, file, 'buildpack.homepage'),
    description: str(bp.description, file, 'buildpack.description'),
    keywords: isStringArray(bp.keywords) ? bp.keywords : undefined,
    licenses: tables(bp.licenses, file, 'buildpack.licenses').map((l) => ({
      type: str(l.type, file, 'buildpack.licenses.type'),
      uri: str(l.uri, file, 'buildpack.licenses.uri'),
    })),
    stacks: tables(doc.stacks, file, 'stacks').map((s) => ({
      id: str(s.id, file, 'stacks.id') ?? '',
      ...(isStringArray(s.mixins) && s.mixins.length ? { mixins: s.mixins } : {}),
    })),
    targets: tables(doc.targets, file, 'targets').map((t) => readTarget(t, file)),
    order: doc.order === undefined ? undefined : tables(doc.order, file, 'order').map((o) => ({
      group: tables(o.group, file, 'order.group').map((g) => ({
        id: str(g.id, file, 'order.group.id') ?? '',
        version: str(g.version, file, 'order.group.version'),
        optional: g.optional === true ? true : undefined,
      })),
    })),
    includeFiles: includeFiles as string[] | undefined,
    prePackage: str(metadata['pre-package'], file, 'metadata.pre-package'),
    dependencies: readDependencies(metadata, file),
  };
}

function readTarget(t: Record<string, unknown>, file: string): Target {
  return {
    os: str(t.os, file, 'targets.os'),
    arch: str(t.arch, file, 'targets.arch'),
    variant: str(t.variant, file, 'targets.variant'),
    distros: t.distros === undefined ? undefined : tables(t.distros, file, 'targets.distros').map((d) => ({
      name: str(d.name, file, 'targets.distros.name'),
      version: str(d.version, file, 'targets.distros.version'),
    })),
  };
}

function versionField(value: unknown, file: string): string | undefined {
  // A bare number (version = 1.2) is a TOML float; accept it as its text would have been.
  if (typeof value === 'number') return String(value);
  return str(value, file, 'buildpack.version');
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function str(value: unknown, file: string, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new InputError(`${file} has a ${key} that is not a string; quote its value.`);
  }
  return value;
}

function table(value: unknown, file: string, key: string): Record<string, unknown> {
  if (value === undefined) {
    throw new InputError(`${file} has no ${key} table; add it with at least an id.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${file} has a ${key} that is not a table; write it as a [table].`);
  }
  return value as Record<string, unknown>;
}

function tables(value: unknown, file: string, key: string): Record<string, unknown>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
    throw new InputError(`${file} has a ${key} that is not an array of tables; write it as [[${key}]].`);
  }
  return value as Record<string, unknown>[];
}

/** The id as a path component: `/` becomes `_` (pack's EscapedID). */
export function escapedId(id: string): string {
  return id.replaceAll('/', '_');
}
