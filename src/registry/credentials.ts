import {spawn} from 'node:child_process';
import {readFile} from 'node:fs/promises';
import {homedir} from 'node:os';
import path from 'node:path';
import {RegistryError} from './errors.js';
import {DOCKER_HUB} from './reference.js';

/** What to authenticate with: a user and password (or token), or an OAuth2 refresh token. `source` says where it came from, for messages. */
export type Credentials = {kind: 'basic'; username: string; password: string; source: string} | {kind: 'identity-token'; token: string; source: string};

// Docker keeps Docker Hub's credentials under its old index URL.
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

interface DockerConfig {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string}>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `https://ghcr.io/v1/` -> `ghcr.io`: how docker config keys compare with registry hosts. */
function keyHost(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

function matches(key: string, registry: string): boolean {
  const host = keyHost(key);
  if (registry === DOCKER_HUB) return DOCKER_HUB_KEYS.map(keyHost).includes(host);
  return host === registry.toLowerCase();
}

/** The server URL a credential helper knows the registry by. */
function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

export interface KeychainOptions {
  /** Where DOCKER_CONFIG, HOME and PATH come from; also the credential helpers' whole environment. */
  env: NodeJS.ProcessEnv;
  /** Called with every secret found, before anything can print it. */
  onSecret?: (secret: string) => void;
  /** A credential helper that has not answered within this is stopped. */
  helperTimeoutMs?: number;
  info?: (message: string) => void;
  debug?: (message: string) => void;
}

export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;

/**
 * Credentials from a docker config, as docker/login-action leaves it
 * (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`): the registry's credHelper,
 * else its `auths` entry, else the default credsStore.
 */
export class DockerKeychain {
  private readonly options: KeychainOptions;
  private readonly config: DockerConfig | undefined;
  readonly file: string;

  private constructor(options: KeychainOptions, file: string, config: DockerConfig | undefined) {
    this.options = options;
    this.file = file;
    this.config = config;
  }

  static async load(options: KeychainOptions): Promise<DockerKeychain> {
    const dir = options.env.DOCKER_CONFIG || path.join(options.env.HOME || homedir(), '.docker');
    const file = path.join(dir, 'config.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return new DockerKeychain(options, file, undefined);
    }
    try {
      const parsed: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      return new DockerKeychain(options, file, parsed);
    } catch (error) {
      throw new RegistryError('credentials', `${file} is not valid JSON; fix it or remove it (docker login writes it)`, {registry: ''}, {cause: error});
    }
  }

  async credentialsFor(registry: string): Promise<Credentials | undefined> {
    const config = this.config;
    if (!config) return undefined;
    const helpers = isRecord(config.credHelpers) ? config.credHelpers : {};
    const helperKey = Object.keys(helpers).find(k => matches(k, registry));
    if (helperKey && typeof helpers[helperKey] === 'string') return this.fromHelper(helpers[helperKey], registry);
    const auths = isRecord(config.auths) ? config.auths : {};
    const authKey = Object.keys(auths).find(k => matches(k, registry));
    const entry = authKey && isRecord(auths[authKey]) ? auths[authKey] : undefined;
    if (entry) {
      const source = `docker config (${authKey})`;
      if (typeof entry.identitytoken === 'string' && entry.identitytoken) {
        this.options.onSecret?.(entry.identitytoken);
        return {kind: 'identity-token', token: entry.identitytoken, source};
      }
      let username = typeof entry.username === 'string' ? entry.username : undefined;
      let password = typeof entry.password === 'string' ? entry.password : undefined;
      if (typeof entry.auth === 'string' && entry.auth) {
        this.options.onSecret?.(entry.auth);
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw new RegistryError('credentials', `The docker config entry for ${authKey} has an auth value that is not base64 of user:password; log in again`, {registry});
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
      if (username && password) {
        this.options.onSecret?.(password);
        return {kind: 'basic', username, password, source};
      }
    }
    if (typeof config.credsStore === 'string' && config.credsStore) return this.fromHelper(config.credsStore, registry);
    return undefined;
  }

  /** Runs `docker-credential-<name> get` with the server URL on stdin (never in argv), within a time limit. */
  private async fromHelper(name: string, registry: string): Promise<Credentials | undefined> {
    const program = `docker-credential-${name}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      throw new RegistryError('credentials', `The docker config names the credential helper "${name.slice(0, 60)}", which is not a helper name`, {registry});
    }
    const timeoutMs = this.options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
    const result = await new Promise<{code: number | null; stdout: string; error?: Error; timedOut?: boolean}>(resolve => {
      const child = spawn(program, ['get'], {env: this.options.env, stdio: ['pipe', 'pipe', 'ignore']});
      let stdout = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({code: null, stdout, timedOut: true});
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        if (stdout.length < 1024 * 1024) stdout += d.toString('utf8');
      });
      child.stdin.on('error', () => undefined); // a helper that exits without reading
      child.on('error', error => {
        clearTimeout(timer);
        resolve({code: null, stdout, error});
      });
      child.on('close', code => {
        clearTimeout(timer);
        resolve({code, stdout});
      });
      child.stdin.end(helperServerUrl(registry));
    });
    if (result.timedOut) {
      throw new RegistryError('credentials', `The credential helper ${program} did not answer for ${registry} within ${timeoutMs / 1000} s and was stopped`, {registry});
    }
    if (result.error) {
      this.options.info?.(`The docker config names the credential helper ${program}, which is not on PATH; going on without credentials for ${registry}.`);
      return undefined;
    }
    if (result.code !== 0) {
      this.options.debug?.(`${program} has no credentials for ${registry}`);
      return undefined;
    }
    let parsed: {Username?: unknown; Secret?: unknown};
    try {
      parsed = JSON.parse(result.stdout) as typeof parsed;
    } catch (error) {
      throw new RegistryError('credentials', `The credential helper ${program} answered something that is not JSON for ${registry}`, {registry}, {cause: error});
    }
    if (typeof parsed.Secret !== 'string' || !parsed.Secret) return undefined;
    this.options.onSecret?.(parsed.Secret);
    const source = `credential helper ${program}`;
    const username = typeof parsed.Username === 'string' ? parsed.Username : '';
    if (username === '<token>') return {kind: 'identity-token', token: parsed.Secret, source};
    return {kind: 'basic', username, password: parsed.Secret, source};
  }
}

function isRecord<T>(value: unknown): value is Record<string, T> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
