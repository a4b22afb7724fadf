import * as core from '@actions/core';
import {Connections, proxyFromEnv} from '../http/client.js';
import {DEFAULT_TIMEOUTS, RegistryClient, type Logger, type Timeouts} from '../registry/client.js';
import {DockerKeychain, type Credentials} from '../registry/credentials.js';
import type {PublishResult} from '../registry/write.js';
import {UserError} from '../util/errors.js';
import {cancellation} from '../util/cancel.js';
import * as log from '../util/log.js';
import {childEnv} from '../util/process.js';
import {registerSecret} from '../util/secrets.js';

/** What opening the registries needs from the inputs. */
export interface RegistryLogin {
  /** registry-username / registry-password: for `loginRegistry` only. */
  username?: string;
  password?: string;
  /** The registry the login belongs to: the first tag's. */
  loginRegistry?: string;
  insecureRegistries: string[];
}

/** The registry login of the inputs: username and password for the first tag's registry. */
export function loginOf(inputs: {registryUsername?: string; registryPassword?: string; insecureRegistries: string[]}, loginRegistry: string | undefined): RegistryLogin {
  return {username: inputs.registryUsername, password: inputs.registryPassword, loginRegistry, insecureRegistries: inputs.insecureRegistries};
}

/** What a publish did, with the clients' request and retry counts. */
export type PublishReport = PublishResult & {requests: number; retries: number};

/** The client of each registry opened, and what they sent together. */
export interface Registries {
  (registry: string): RegistryClient;
  stats(): {requests: number; retries: number};
}

export const LOGGER: Logger = {debug: m => core.debug(m), info: m => log.info(m)};

/**
 * Time limits, which `MULTIARCH_BUILDPACK_HTTP_TIMEOUT` (seconds per request) changes; blob
 * transfers get one more second per 256 KiB.
 */
export function timeoutsFromEnv(env: NodeJS.ProcessEnv): Timeouts {
  const text = env.MULTIARCH_BUILDPACK_HTTP_TIMEOUT?.trim();
  if (!text) return DEFAULT_TIMEOUTS;
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) {
    throw new UserError(`MULTIARCH_BUILDPACK_HTTP_TIMEOUT is "${text.slice(0, 40)}", which is not a number of seconds; set it to a positive number such as 60, or unset it.`);
  }
  return {...DEFAULT_TIMEOUTS, requestMs: Math.round(Number(text) * 1000)};
}

/**
 * One client per registry (the tags' and a composite's components'), each with its credentials:
 * registry-username/registry-password belong to the first tag's registry only (never sent to
 * another host); every other registry, or all of them without those inputs, uses the docker
 * config (what docker/login-action writes), else anonymous access. One /v2/ ping per registry,
 * keep-alive connections through the proxies the environment names.
 */
export async function openRegistries(registries: string[], login: RegistryLogin, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<Registries> {
  // Credential helpers run with the child environment: no inputs, no tokens of the runner's.
  const keychain = await DockerKeychain.load({env: childEnv({}, env), onSecret: registerSecret, info: m => log.info(m), debug: m => core.debug(m)});
  const connections = new Connections(proxyFromEnv(env));
  const timeouts = timeoutsFromEnv(env);
  const clients = new Map<string, RegistryClient>();
  for (const registry of new Set(registries)) {
    let credentials: Credentials | undefined;
    if (login.username && login.password && registry === login.loginRegistry) {
      credentials = {kind: 'basic', username: login.username, password: login.password, source: 'registry-username/registry-password'};
    } else {
      credentials = await keychain.credentialsFor(registry);
    }
    log.info(`${registry}: ${credentials ? `credentials from ${credentials.source}` : 'anonymous'}`);
    clients.set(registry, new RegistryClient({registry, insecureRegistries: login.insecureRegistries, credentials, connections, timeouts, signal: signal ?? cancellation, logger: LOGGER, onSecret: registerSecret}));
  }
  const clientFor = (registry: string): RegistryClient => {
    const client = clients.get(registry);
    if (!client) throw new Error(`no client for ${registry}`);
    return client;
  };
  return Object.assign(clientFor, {
    stats: () => {
      const total = {requests: 0, retries: 0};
      for (const client of clients.values()) {
        total.requests += client.stats.requests;
        total.retries += client.stats.retries;
      }
      return total;
    }
  });
}
