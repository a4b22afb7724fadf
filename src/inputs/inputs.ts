import * as core from '@actions/core';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {Format} from '../oci/types.js';
import {UserError} from '../util/errors.js';
import {registerSecret} from '../util/secrets.js';
import {commaJoinedItems, parseAnnotations, type AnnotationSet} from './annotations.js';
import {parseLines, parseList} from './list.js';
import {inputVariable} from './names.js';

export type BuildMode = 'auto' | 'command' | 'none';

/** Every action input, read and validated once. Names mirror action.yml. */
export interface Inputs {
  path: string;
  /** Raw architecture names; empty means "from buildpack.toml [[targets]], else amd64,arm64". */
  architectures: string[];
  version?: string;
  output: string;
  build: BuildMode;
  buildCommand?: string;
  experimental: boolean;
  /** Raw names; undefined means "every architecture but amd64". */
  experimentalArchitectures?: string[];
  /** By level: index (the default), manifest, index-descriptor, manifest-descriptor. */
  annotations: AnnotationSet;
  /** Full references to publish the index under (not yet parsed). */
  tags: string[];
  push: boolean;
  registryUsername?: string;
  registryPassword?: string;
  insecureRegistries: string[];
  format: Format;
  /** Raw `name[@version]` items (parsed in the plan). */
  tools: string[];
  toolsDownloadBaseUrl?: string;
  cache: boolean;
  cacheSave: boolean;
  packager: 'native' | 'pack';
  /** Bundle each platform's dependencies into its image (jam pack --offline). */
  offline: boolean;
  mode: 'all' | 'package' | 'merge' | 'smoke' | 'publish';
  /** mode: publish: the OCI image layout (a directory, or a .tar/.tar.gz of one) to publish as it is. */
  layout?: string;
  /** The digest the published index must have (`sha256:<hex>`), else nothing is written. */
  expectedDigest?: string;
  /** Release assets' base name: `<name>.cnb`, `<name>-<os>-<arch>.cnb`, `<name>-index-digest.sha256`. */
  assetName?: string;
  /** mode: merge/smoke: the `manifests` outputs of package jobs (JSON arrays, one per line). */
  manifests: string[];
  smokeTest: 'none' | 'emulated' | 'native';
  smokeApp?: string;
  smokeCommand?: string;
  /** Write the job summary (the `summary` input, unless DOCKER_BUILD_SUMMARY=false). */
  summary: boolean;
  /** A CycloneDX SBOM per platform image, written beside the layout and attached as a referrer. */
  sbom: boolean;
}

/** Reads an input the way the runner passes it (trimmed unless asked otherwise); the CLI sets the same variables. */
export type InputReader = (name: string, options?: {trim?: boolean}) => string;

/** Inputs from INPUT_* variables, as @actions/core reads them. */
export function envReader(env: NodeJS.ProcessEnv): InputReader {
  return (name, options) => {
    const value = env[inputVariable(name)] ?? '';
    return options?.trim === false ? value : value.trim();
  };
}

export function getInputs(reader?: InputReader, env: NodeJS.ProcessEnv = process.env): Inputs {
  const read = reader ?? envReader(env);
  const runnerTemp = env.RUNNER_TEMP || tmpdir();
  const build = oneOf(read, 'build', ['auto', 'command', 'none'], 'auto');
  const buildCommand = read('build-command').trim() || undefined;
  if (build === 'command' && !buildCommand) {
    throw new UserError('Input "build" is "command" but "build-command" is empty; set build-command to the command that fills $OUTPUT_DIR for each architecture.');
  }
  if (build !== 'command' && buildCommand) {
    throw new UserError(`Input "build-command" is set but "build" is "${build}"; set build: command to use it, or remove build-command.`);
  }
  const experimentalArchitectures = parseList(read('experimental-architectures'));
  const registryUsername = read('registry-username').trim() || undefined;
  // Not trimmed: a password may begin or end with spaces. Masked before anything can print it.
  const registryPassword = read('registry-password', {trim: false}) || undefined;
  if (registryPassword) registerSecret(registryPassword);
  if (Boolean(registryUsername) !== Boolean(registryPassword)) {
    throw new UserError(
      `Input "${registryUsername ? 'registry-password' : 'registry-username'}" is empty while "${registryUsername ? 'registry-username' : 'registry-password'}" is set; set both, or neither to use the docker config (docker/login-action).`
    );
  }
  if (read('smoke-test').trim() && read('smoke-test').trim() !== 'none' && !read('smoke-app').trim() && !read('smoke-command').trim()) {
    throw new UserError('Input "smoke-test" is set but "smoke-app" is empty; set smoke-app to a sample app directory the buildpack detects (or give a smoke-command).');
  }
  const annotations = parseAnnotations(read('annotations'));
  for (const a of commaJoinedItems(annotations)) {
    core.warning(`Input "annotations" gives ${a.key} the value "${a.value.slice(0, 120)}", commas included: annotations are one per line, as docker's actions read them; put each key=value on its own line if these were meant as several.`);
  }
  return {
    path: path.resolve(read('path').trim() || '.'),
    architectures: parseList(read('architectures')),
    version: read('version').trim() || undefined,
    output: path.resolve(read('output').trim() || path.join(runnerTemp, 'multiarch-buildpack')),
    build,
    buildCommand,
    experimental: bool(read, 'experimental', false),
    experimentalArchitectures: experimentalArchitectures.length ? experimentalArchitectures : undefined,
    annotations,
    tags: parseList(read('tags')),
    push: bool(read, 'push', true),
    registryUsername,
    registryPassword,
    insecureRegistries: parseList(read('insecure-registries')),
    format: oneOf(read, 'format', ['oci', 'docker'], 'oci'),
    tools: parseList(read('tools')),
    toolsDownloadBaseUrl: baseUrl(read('tools-download-base-url')),
    cache: bool(read, 'cache', true),
    cacheSave: bool(read, 'cache-save', true),
    packager: oneOf(read, 'packager', ['native', 'pack'], 'native'),
    offline: bool(read, 'offline', false),
    mode: oneOf(read, 'mode', ['all', 'package', 'merge', 'smoke', 'publish'], 'all'),
    layout: read('layout') ? path.resolve(read('layout')) : undefined,
    expectedDigest: expectedDigest(read('expected-digest')),
    assetName: assetName(read('asset-name')),
    manifests: parseLines(read('manifests')),
    smokeTest: oneOf(read, 'smoke-test', ['none', 'emulated', 'native'], 'none'),
    smokeApp: read('smoke-app').trim() ? path.resolve(read('smoke-app').trim()) : undefined,
    smokeCommand: read('smoke-command').trim() || undefined,
    summary: bool(read, 'summary', true) && !dockerSummaryOff(env),
    sbom: bool(read, 'sbom', false)
  };
}

/**
 * `sha256:<hex>`, as the digest output and a `-index-digest.sha256` asset hold it (a bare hex
 * digest is taken as sha256, and a trailing newline from a file is fine).
 */
function expectedDigest(value: string): string | undefined {
  const text = value.trim();
  if (!text) return undefined;
  const match = /^(?:sha256:)?([a-fA-F0-9]{64})$/.exec(text);
  if (!match) throw new UserError(`Input "expected-digest" is "${text.slice(0, 80)}", which is not a sha256 digest; pass the digest output or the -index-digest.sha256 file's content (sha256:<64 hex digits>).`);
  return `sha256:${match[1].toLowerCase()}`;
}

/** A file name stem: no path, no characters that would not survive a release upload. */
function assetName(value: string): string | undefined {
  const text = value.trim();
  if (!text) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(text) || text.length > 200) {
    throw new UserError(`Input "asset-name" is "${text.slice(0, 80)}", which is not a file name stem; use letters, digits, ".", "_", "+" and "-", such as my-buildpack-1.2.3.`);
  }
  return text;
}

function baseUrl(value: string): string | undefined {
  const text = value.trim().replace(/\/+$/, '');
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`Input "tools-download-base-url" is "${text}", which is not a URL; write it like https://mirror.example.com (it replaces https://github.com).`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UserError(`Input "tools-download-base-url" is "${text}"; use an https:// URL.`);
  }
  return text;
}

function oneOf<T extends string>(read: InputReader, name: string, allowed: readonly T[], fallback: T): T {
  const value = read(name).trim();
  if (value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError(`Input "${name}" is "${value}"; use one of ${allowed.join(', ')}.`);
}

/** YAML 1.2 core-schema booleans, as core.getBooleanInput accepts, with a default when empty. */
/** docker/build-push-action's convention for turning its job summary off. */
function dockerSummaryOff(env: NodeJS.ProcessEnv): boolean {
  return env.DOCKER_BUILD_SUMMARY?.trim().toLowerCase() === 'false';
}

/**
 * Whether a failure may write the job summary: read on its own, since the inputs may be what
 * failed; an unreadable `summary` counts as the default, true.
 */
export function summaryWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    return bool(envReader(env), 'summary', true) && !dockerSummaryOff(env);
  } catch {
    return true;
  }
}

export function bool(read: InputReader, name: string, fallback: boolean): boolean {
  const value = read(name).trim();
  if (value === '') return fallback;
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  throw new UserError(`Input "${name}" is "${value}"; use true or false.`);
}
