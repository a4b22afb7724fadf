import * as core from '@actions/core';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { DOCKER_HUB } from './reference.js';

/** What to authenticate with: a user and password (or token), or an OAuth2 refresh token. */
export type Credentials =
  | { kind: 'basic'; username: string; password: string; source: string }
  | { kind: 'identity-token'; token: string; source: string };

// Docker keeps Docker Hub's credentials under its old index URL.
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `https://ghcr.io/v1/` -> `ghcr.io`: how docker config keys compare with registry hosts. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
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

export async function readDockerConfig(env: NodeJS.ProcessEnv): Promise<DockerConfig | undefined> {
  const dir = env.DOCKER_CONFIG || path.join(homedir(), '.docker');
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch {
    throw new InputError(`${file} is not valid JSON; fix it or remove it (docker login writes it).`);
  }
}

/**
 * Credentials for a registry from a docker config (what docker/login-action writes): the
 * registry's credHelper, else its `auths` entry, else the default credsStore. Every secret found
 * is masked before anything can log it.
 */
export async function dockerConfigCredentials(registry: string, config: DockerConfig | undefined, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  if (!config) return undefined;
  const helperKey = Object.keys(config.credHelpers ?? {}).find((k) => matches(k, registry));
  if (helperKey) return fromHelper(config.credHelpers![helperKey], registry, env);
  const authKey = Object.keys(config.auths ?? {}).find((k) => matches(k, registry));
  const entry = authKey ? config.auths![authKey] : undefined;
  if (entry) {
    const source = `docker config (${authKey})`;
    if (entry.identitytoken) {
      core.setSecret(entry.identitytoken);
      return { kind: 'identity-token', token: entry.identitytoken, source };
    }
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new InputError(`The docker config entry for ${authKey} has an auth value that is not base64 of user:password; log in again.`);
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
      core.setSecret(entry.auth);
    }
    if (username && password) {
      core.setSecret(password);
      return { kind: 'basic', username, password, source };
    }
  }
  if (config.credsStore) return fromHelper(config.credsStore, registry, env);
  return undefined;
}

/** Runs `docker-credential-<name> get` with the server URL on stdin (never in argv). */
async function fromHelper(name: string, registry: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  const result = await new Promise<{ code: number | null; stdout: string; error?: Error }>((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.on('error', (error) => resolve({ code: null, stdout, error }));
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.end(helperServerUrl(registry));
  });
  if (result.error) {
    core.info(`The docker config names the credential helper ${program}, which is not on PATH; going on without credentials for ${registry}.`);
    return undefined;
  }
  if (result.code !== 0) {
    core.debug(`${program} has no credentials for ${registry}`);
    return undefined;
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(result.stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new InputError(`The credential helper ${program} answered something that is not JSON for ${registry}; check the helper.`);
  }
  if (!parsed.Secret) return undefined;
  core.setSecret(parsed.Secret);
  const source = `credential helper ${program}`;
  if (parsed.Username === '<token>') return { kind: 'identity-token', token: parsed.Secret, source };
  return { kind: 'basic', username: parsed.Username ?? '', password: parsed.Secret, source };
}
