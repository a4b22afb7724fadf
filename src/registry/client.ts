import * as core from '@actions/core';
import type { Readable } from 'node:stream';
import { InputError, errorMessage } from '../util/errors.js';
import { errorCodes, parseChallenge, type Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { DEFAULT_RETRY, sendWithRetry, type HttpResponse, type RetryPolicy } from './http.js';
import { DOCKER_HUB, apiHost } from './reference.js';

export interface ClientOptions {
  /** The registry as references name it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Hosts (`host[:port]`) that may be spoken to over plain HTTP. */
  insecureRegistries: string[];
  credentials?: Credentials;
  retry?: RetryPolicy;
}

export type Action = 'pull' | 'push';

interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | (() => Readable);
  contentLength?: number;
  consumeBody?: (body: Readable) => Promise<void>;
  /** Repository and actions the request needs, for the token scope and for errors. */
  repository: string;
  action: Action;
  /** Extra scopes (a cross-repository mount also reads the source repository). */
  extraScopes?: string[];
}

interface Token {
  value: string;
  expiresAt: number;
}

/**
 * One registry, spoken to over distribution-spec v1.1: the /v2/ challenge, anonymous, Basic or
 * Bearer auth (tokens per scope, refreshed when they expire or are refused), and requests with
 * retries. Errors a user can fix become one-sentence InputErrors.
 */
export class RegistryClient {
  readonly registry: string;
  readonly base: URL;
  private readonly options: ClientOptions;
  private challenge: Challenge | undefined;
  private pinged = false;
  /** Per scope set: the token, or the request for it, so concurrent requests share one fetch. */
  private readonly tokens = new Map<string, Promise<Token>>();
  private basicValue: string | undefined;

  constructor(options: ClientOptions) {
    this.options = options;
    this.registry = options.registry;
    const host = apiHost(options.registry);
    const insecure = options.insecureRegistries.includes(options.registry) || options.insecureRegistries.includes(host);
    this.base = new URL(`${insecure ? 'http' : 'https'}://${host}`);
  }

  private get who(): string {
    const c = this.options.credentials;
    if (!c) return 'anonymous access';
    return c.kind === 'basic' ? `the user ${c.username} (from ${c.source})` : `the identity token from ${c.source}`;
  }

  /** GET /v2/: learns how the registry wants to be authenticated. */
  async ping(): Promise<void> {
    if (this.pinged) return;
    const response = await this.send('GET', new URL('/v2/', this.base), {});
    if (response.status === 401) this.challenge = parseChallenge(header(response, 'www-authenticate'));
    else if (response.status !== 200) {
      throw new InputError(`The registry ${this.registry} answered GET /v2/ with HTTP ${response.status}; check that ${this.base.origin} is a container registry.`);
    }
    this.pinged = true;
  }

  /**
   * Sends an authenticated request. On a 401 it learns the challenge, fetches a fresh token and
   * tries once more; a second refusal is a credentials or permissions error naming the repository.
   */
  async request(method: string, url: URL, options: RequestOptions): Promise<HttpResponse> {
    await this.ping();
    let authorization = await this.authorization(options, false);
    let response = await this.send(method, url, { ...options, authorization });
    if (response.status === 401) {
      const challenge = parseChallenge(header(response, 'www-authenticate'));
      if (challenge) this.challenge = challenge;
      authorization = await this.authorization(options, true);
      if (authorization !== undefined) response = await this.send(method, url, { ...options, authorization });
    }
    if (response.status === 401 || response.status === 403) throw this.refused(response, options);
    return response;
  }

  private async send(method: string, url: URL, options: Partial<RequestOptions> & { authorization?: string }): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...options.headers };
    // Credentials go only to the registry itself, never to a storage backend it redirects to.
    if (options.authorization && url.origin === this.base.origin) headers.Authorization = options.authorization;
    try {
      return await sendWithRetry({ method, url, headers, body: options.body, contentLength: options.contentLength, consumeBody: options.consumeBody }, this.options.retry ?? DEFAULT_RETRY);
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private unreachable(error: unknown): Error {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const message = errorMessage(error);
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new InputError(
        `The registry ${this.registry} presented a certificate that is not trusted (${code}); add its CA certificate with NODE_EXTRA_CA_CERTS, or list ${this.registry} in insecure-registries if it speaks plain HTTP.`,
      );
    }
    if (/wrong version number|EPROTO/i.test(`${code} ${message}`)) {
      return new InputError(`The registry ${this.registry} does not speak HTTPS (${code || message}); list it in insecure-registries to use plain HTTP.`);
    }
    const attempts = (this.options.retry ?? DEFAULT_RETRY).attempts;
    return new InputError(
      `Could not reach the registry ${this.registry} at ${this.base.origin} (${code || message}) after ${attempts} attempts; check the host in tags and that the runner can reach it.`,
    );
  }

  /** Why the registry refused: wrong credentials, none, or no right to push. */
  private refused(response: HttpResponse, options: RequestOptions): InputError {
    const codes = errorCodes(response.body).map((e) => e.code);
    const challenge = parseChallenge(header(response, 'www-authenticate'));
    const insufficient = challenge?.params.error === 'insufficient_scope' || response.status === 403 || codes.includes('DENIED');
    const login = `log in to ${this.registry} with docker/login-action or set registry-username and registry-password`;
    if (!this.options.credentials) {
      return new InputError(`The registry ${this.registry} requires credentials to ${options.action} ${options.repository} (HTTP ${response.status}); ${login}.`);
    }
    if (insufficient || this.challenge?.scheme === 'bearer') {
      const hub = this.registry === DOCKER_HUB ? ' (GitHub-hosted runners carry a pull-only Docker Hub credential when nobody logged in)' : '';
      return new InputError(
        `The registry ${this.registry} does not let ${this.who} ${options.action} ${options.repository} (insufficient_scope)${hub}; use credentials with ${options.action} rights to ${options.repository}: ${login}.`,
      );
    }
    return new InputError(`The registry ${this.registry} rejected ${this.who} (HTTP ${response.status}); check the username and password: ${login}.`);
  }

  private async authorization(options: RequestOptions, fresh: boolean): Promise<string | undefined> {
    const challenge = this.challenge;
    const credentials = this.options.credentials;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      if (!credentials) return undefined;
      if (credentials.kind !== 'basic') {
        throw new InputError(`The registry ${this.registry} asks for a password, but the docker config holds only an identity token for it; log in with a username and password.`);
      }
      return `Basic ${this.basic(credentials)}`;
    }
    if (challenge.scheme !== 'bearer') {
      throw new InputError(`The registry ${this.registry} asks for "${challenge.scheme}" authentication, which is not supported; use a registry with Basic or Bearer token auth.`);
    }
    const scopes = [`repository:${options.repository}:${options.action === 'push' ? 'pull,push' : 'pull'}`, ...(options.extraScopes ?? [])];
    const key = scopes.join(' ');
    const cached = this.tokens.get(key);
    if (!fresh && cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt > Date.now() + 10_000) return `Bearer ${token.value}`;
    }
    const pending = this.fetchToken(challenge, scopes, options);
    this.tokens.set(key, pending);
    pending.catch(() => this.tokens.delete(key));
    return `Bearer ${(await pending).value}`;
  }

  /** The Basic credential, encoded and masked once. */
  private basic(credentials: { username: string; password: string }): string {
    if (!this.basicValue) {
      this.basicValue = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
      core.setSecret(this.basicValue);
    }
    return this.basicValue;
  }

  /** A Bearer token for the scopes from the challenge's realm (GET, or OAuth2 POST for identity tokens). */
  private async fetchToken(challenge: Challenge, scopes: string[], options: RequestOptions): Promise<Token> {
    const realm = this.realm(challenge);
    const credentials = this.options.credentials;
    let response: HttpResponse;
    try {
      if (credentials?.kind === 'identity-token') {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.token, client_id: 'multiarch-buildpack-action', scope: scopes.join(' ') });
        if (challenge.params.service) form.set('service', challenge.params.service);
        response = await sendWithRetry({ method: 'POST', url: realm, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) });
      } else {
        const url = new URL(realm);
        if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
        for (const scope of scopes) url.searchParams.append('scope', scope);
        const headers: Record<string, string> = {};
        if (credentials) headers.Authorization = `Basic ${this.basic(credentials)}`;
        response = await sendWithRetry({ method: 'GET', url, headers }, this.options.retry ?? DEFAULT_RETRY);
      }
    } catch (error) {
      throw new InputError(`Could not reach the token service ${realm.origin} of ${this.registry} (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}); check that the runner can reach it.`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new InputError(
        `The registry ${this.registry} rejected ${this.who} (HTTP ${response.status} from its token service); check the username and password: log in with docker/login-action or set registry-username and registry-password.`,
      );
    }
    if (response.status !== 200) {
      throw new InputError(`The token service of ${this.registry} answered HTTP ${response.status} for ${options.repository}; try again later or check the registry's status.`);
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(response.body.toString('utf8')) as typeof body;
    } catch {
      throw new InputError(`The token service of ${this.registry} answered something that is not JSON; check the registry's auth configuration.`);
    }
    const value = body.token || body.access_token;
    if (!value) throw new InputError(`The token service of ${this.registry} answered without a token; check the registry's auth configuration.`);
    core.setSecret(value);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { value, expiresAt: Date.now() + lifetime * 1000 };
  }

  /** The token realm, refused when it would carry credentials over plain HTTP to another host. */
  private realm(challenge: Challenge): URL {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw new InputError(`The registry ${this.registry} sent a token realm "${challenge.params.realm ?? ''}" that is not a URL; check the registry's auth configuration.`);
    }
    const plainAllowed =
      this.options.insecureRegistries.includes(realm.host) || (this.base.protocol === 'http:' && realm.hostname === this.base.hostname);
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && plainAllowed)) {
      throw new InputError(
        `The registry ${this.registry} sends credentials to ${realm.origin}, which is not HTTPS; refusing to send them in clear (list ${realm.host} in insecure-registries only for a test registry).`,
      );
    }
    return realm;
  }

  url(path: string): URL {
    return new URL(path, this.base);
  }
}

export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
