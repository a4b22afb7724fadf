import type {Readable} from 'node:stream';
import {HttpClient, TransportError, header, safeUrl, type Connections, type HttpResponse, type HttpStats} from '../http/client.js';
import type {RetryPolicy} from '../http/retry.js';
import {parseChallenge, type Challenge} from './challenge.js';
import type {Credentials} from './credentials.js';
import {RegistryError, describeCodes, distributionErrors, type RegistryErrorDetails} from './errors.js';
import {apiHost} from './reference.js';

export type Action = 'pull' | 'push';

/** Time limits; every request must end within them, its response body included. */
export interface Timeouts {
  /** One attempt of a request that moves no blob (ping, token, HEAD, manifests). */
  requestMs: number;
  /** A blob transfer gets `requestMs` plus one second per this many bytes. */
  bytesPerSecond: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {requestMs: 60_000, bytesPerSecond: 256 * 1024};

/** Buffered responses (manifests, tokens, errors) larger than this are refused. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  /** Told of each tag as soon as the registry has accepted it, so a caller knows how far a publish got. */
  tagWritten?(reference: string): void;
}

export interface ClientOptions {
  /** The registry as references name it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  /** `host[:port]` that may be spoken to over plain HTTP: the registry, or a token service. */
  insecureRegistries: string[];
  credentials?: Credentials;
  connections: Connections;
  timeouts?: Timeouts;
  retry?: RetryPolicy;
  /** Cancels everything in flight. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Called with every secret the client derives or receives (Basic values, tokens), to mask it. */
  onSecret?: (secret: string) => void;
  userAgent?: string;
}

export interface RequestOptions {
  /** Repository and action the request needs, for the token scope and for errors. */
  repository: string;
  action: Action;
  /** Extra scopes (a cross-repository mount also reads the source repository). */
  extraScopes?: string[];
  headers?: Record<string, string>;
  body?: Buffer | (() => Readable);
  contentLength?: number;
  consume?: (body: Readable) => Promise<void>;
  timeoutMs?: number;
  maxBodyBytes?: number;
}

interface Token {
  value: string;
  expiresAt: number;
}

const NO_LOGGER: Logger = {debug: () => undefined, info: () => undefined};

/**
 * One registry, spoken to over distribution-spec v1.1: one /v2/ ping (shared by concurrent
 * requests), then anonymous, Basic or Bearer auth (tokens per scope set, refreshed when they
 * expire or are refused), with retries. Credentials and challenges belong to the registry's own
 * origin: a storage host a redirect or upload location points to gets neither, and its 401
 * never leads to a token request. Failures are RegistryErrors.
 */
export class RegistryClient {
  readonly registry: string;
  readonly base: URL;
  readonly http: HttpClient;
  private readonly options: ClientOptions;
  private readonly timeouts: Timeouts;
  private readonly logger: Logger;
  private pinging: Promise<void> | undefined;
  private challenge: Challenge | undefined;
  /** Per scope set: the token, or the request for it, so concurrent requests share one fetch. */
  private readonly tokens = new Map<string, Promise<Token>>();
  private basicValue: string | undefined;

  constructor(options: ClientOptions) {
    this.options = options;
    this.registry = options.registry;
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.logger = options.logger ?? NO_LOGGER;
    const host = apiHost(options.registry);
    const insecure = options.insecureRegistries.includes(options.registry) || options.insecureRegistries.includes(host);
    this.base = new URL(`${insecure ? 'http' : 'https'}://${host}`);
    this.http = new HttpClient({
      connections: options.connections,
      userAgent: options.userAgent ?? 'multiarch-buildpack-action',
      timeoutMs: this.timeouts.requestMs,
      maxBodyBytes: MAX_RESPONSE_BYTES,
      retry: options.retry,
      signal: options.signal,
      debug: m => this.logger.debug(m)
    });
  }

  get stats(): HttpStats {
    return this.http.stats;
  }

  url(path: string): URL {
    return new URL(path, this.base);
  }

  /** The time limit for a request that moves `bytes` of blob. */
  transferTimeout(bytes: number): number {
    return this.timeouts.requestMs + Math.ceil((bytes / this.timeouts.bytesPerSecond) * 1000);
  }

  private get auth(): RegistryErrorDetails['auth'] {
    const c = this.options.credentials;
    if (!c) return {kind: 'anonymous'};
    return c.kind === 'basic' ? {kind: 'basic', username: c.username, source: c.source} : {kind: 'identity-token', source: c.source};
  }

  /** GET /v2/, once per client however many requests wait for it: learns how to authenticate. */
  ping(): Promise<void> {
    this.pinging ??= this.sendPing().catch((error: unknown) => {
      this.pinging = undefined; // a later call may try again
      throw error;
    });
    return this.pinging;
  }

  private async sendPing(): Promise<void> {
    const url = this.url('/v2/');
    const response = await this.send({method: 'GET', url}, {repository: '', action: 'pull'});
    if (response.status === 401) this.challenge = parseChallenge(header(response, 'www-authenticate'));
    else if (response.status !== 200) {
      throw this.statusError(`answered GET /v2/ with HTTP ${response.status}, so ${this.base.origin} does not look like a container registry`, response, {repository: '', action: 'pull'});
    }
  }

  /**
   * Sends a request. To the registry's own origin it goes with credentials; on a 401 the client
   * adopts the new challenge, takes a fresh token and tries once more, and a second refusal is
   * an `unauthorized` (401) or `denied` (403) RegistryError. To any other origin (a storage
   * host) it goes bare, and a 401/403 there is a `foreign-host` error.
   */
  async request(method: string, url: URL, options: RequestOptions): Promise<HttpResponse> {
    await this.ping();
    if (url.origin !== this.base.origin) {
      const response = await this.send({method, url}, options);
      if (response.status === 401 || response.status === 403) {
        throw new RegistryError('foreign-host', `${url.host}, where ${this.registry} sent ${method} ${safeUrl(url)}, refused it (HTTP ${response.status}); no credentials are sent to hosts other than the registry`, {
          ...this.detailsOf(options, response, method, url)
        });
      }
      return response;
    }
    let authorization = await this.authorization(options, false);
    let response = await this.send({method, url, authorization}, options);
    if (response.status === 401) {
      const challenge = parseChallenge(header(response, 'www-authenticate'));
      if (challenge) this.challenge = challenge;
      authorization = await this.authorization(options, true);
      if (authorization !== undefined) response = await this.send({method, url, authorization}, options);
    }
    if (response.status === 401 || response.status === 403) throw this.refused(method, url, response, options);
    return response;
  }

  private async send(target: {method: string; url: URL; authorization?: string}, options: RequestOptions): Promise<HttpResponse> {
    const headers: Record<string, string> = {...options.headers};
    if (target.authorization && target.url.origin === this.base.origin) headers.authorization = target.authorization;
    try {
      return await this.http.sendWithRetry({
        method: target.method,
        url: target.url,
        headers,
        body: options.body,
        contentLength: options.contentLength,
        consume: options.consume,
        timeoutMs: options.timeoutMs,
        maxBodyBytes: options.maxBodyBytes
      });
    } catch (error) {
      throw this.transportFailure(error, target.method, target.url, options);
    }
  }

  private transportFailure(error: unknown, method: string, url: URL, options: Pick<RequestOptions, 'repository' | 'action'>): unknown {
    if (!(error instanceof TransportError)) return error;
    const details: RegistryErrorDetails = {
      registry: this.registry,
      repository: options.repository || undefined,
      action: options.action,
      method,
      url: safeUrl(url),
      attempts: error.attempts,
      transport: error.code ?? error.failure,
      timeoutMs: error.timeoutMs
    };
    switch (error.failure) {
      case 'tls':
        return new RegistryError('tls', `${url.host} did not complete a trusted TLS handshake (${error.code ?? 'TLS error'})`, details, {cause: error});
      case 'too-large':
        return new RegistryError('too-large', `${url.host} answered ${method} ${safeUrl(url)} with more data than allowed`, details, {cause: error});
      case 'cancelled':
        return new RegistryError('cancelled', `${method} ${safeUrl(url)} was cancelled`, details, {cause: error});
      case 'body':
        return error.cause ?? error; // the local content could not be read: not the registry's doing
      default: {
        const attempts = error.attempts === 1 ? '1 attempt' : `${error.attempts} attempts`;
        return new RegistryError('unreachable', `${method} ${safeUrl(url)} failed (${error.code ?? error.failure}) after ${attempts}`, details, {cause: error});
      }
    }
  }

  /** A RegistryError for a status the operation does not accept, with the registry's own error codes. */
  statusError(what: string, response: HttpResponse, options: Pick<RequestOptions, 'repository' | 'action'>, method = 'GET'): RegistryError {
    const details = this.detailsOf(options, response, method, response.url);
    const codes = details.codes?.length ? ` (${describeCodes(details.codes)})` : '';
    return new RegistryError('status', `The registry ${this.registry} ${what}${codes}`, details);
  }

  private detailsOf(options: Pick<RequestOptions, 'repository' | 'action'>, response: HttpResponse, method: string, url: URL): RegistryErrorDetails {
    return {
      registry: this.registry,
      repository: options.repository || undefined,
      action: options.action,
      status: response.status,
      codes: distributionErrors(response.body),
      method,
      url: safeUrl(url),
      attempts: response.attempts,
      auth: this.auth
    };
  }

  /** Why the registry refused: wrong credentials, none, or no right to the repository. */
  private refused(method: string, url: URL, response: HttpResponse, options: RequestOptions): RegistryError {
    const details = this.detailsOf(options, response, method, url);
    const challenge = parseChallenge(header(response, 'www-authenticate'));
    details.insufficientScope = challenge?.params.error === 'insufficient_scope' || details.codes?.some(c => c.code === 'DENIED') === true;
    const reason = response.status === 403 || details.insufficientScope ? 'denied' : 'unauthorized';
    const codes = details.codes?.length ? ` (${describeCodes(details.codes)})` : '';
    return new RegistryError(reason, `${this.registry} refused ${method} ${safeUrl(url)} with HTTP ${response.status}${codes}`, details);
  }

  private async authorization(options: RequestOptions, fresh: boolean): Promise<string | undefined> {
    const challenge = this.challenge;
    const credentials = this.options.credentials;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      if (!credentials) return undefined;
      if (credentials.kind !== 'basic') {
        throw new RegistryError('credentials', `${this.registry} asks for a user name and password, but ${credentials.source} holds only an identity token for it`, {registry: this.registry, auth: this.auth});
      }
      return `Basic ${this.basic(credentials)}`;
    }
    if (challenge.scheme !== 'bearer') {
      throw new RegistryError('unsupported-auth', `${this.registry} asks for "${challenge.scheme.slice(0, 40)}" authentication, which is neither Basic nor Bearer`, {registry: this.registry});
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

  /** The Basic credential, encoded and masked once. The password is used exactly as given. */
  private basic(credentials: {username: string; password: string}): string {
    if (!this.basicValue) {
      this.basicValue = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
      this.options.onSecret?.(this.basicValue);
    }
    return this.basicValue;
  }

  /** A Bearer token for the scopes from the challenge's realm (GET, or OAuth2 POST for identity tokens). */
  private async fetchToken(challenge: Challenge, scopes: string[], options: RequestOptions): Promise<Token> {
    const realm = this.realm(challenge);
    const credentials = this.options.credentials;
    const details: RegistryErrorDetails = {registry: this.registry, repository: options.repository, action: options.action, realm: realm.origin, auth: this.auth};
    let response: HttpResponse;
    try {
      if (credentials?.kind === 'identity-token') {
        const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: credentials.token, client_id: 'multiarch-buildpack-action', scope: scopes.join(' ')});
        if (challenge.params.service) form.set('service', challenge.params.service);
        response = await this.http.sendWithRetry({method: 'POST', url: realm, headers: {'content-type': 'application/x-www-form-urlencoded'}, body: Buffer.from(form.toString()), maxBodyBytes: 1024 * 1024});
      } else {
        const url = new URL(realm);
        if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
        for (const scope of scopes) url.searchParams.append('scope', scope);
        const headers: Record<string, string> = {};
        if (credentials) headers.authorization = `Basic ${this.basic(credentials)}`;
        response = await this.http.sendWithRetry({method: 'GET', url, headers, maxBodyBytes: 1024 * 1024});
      }
    } catch (error) {
      const failure = this.transportFailure(error, 'GET', realm, options);
      if (failure instanceof RegistryError) failure.details.realm = realm.origin;
      throw failure;
    }
    details.status = response.status;
    details.attempts = response.attempts;
    if (response.status !== 200) {
      const why = response.status === 401 || response.status === 403 ? 'refused the credentials' : 'failed';
      throw new RegistryError('token-service', `The token service ${realm.origin} of ${this.registry} ${why} (HTTP ${response.status})`, details);
    }
    let body: {token?: unknown; access_token?: unknown; expires_in?: unknown};
    try {
      body = JSON.parse(response.body.toString('utf8')) as typeof body;
    } catch (error) {
      throw new RegistryError('auth-protocol', `The token service ${realm.origin} of ${this.registry} answered something that is not JSON`, details, {cause: error});
    }
    const value = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!value) throw new RegistryError('auth-protocol', `The token service ${realm.origin} of ${this.registry} answered without a token`, details);
    this.options.onSecret?.(value);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return {value, expiresAt: Date.now() + lifetime * 1000};
  }

  /**
   * The token realm from the registry's own challenge: HTTPS, or plain HTTP only when that exact
   * host:port is among the insecure registries; credentials never travel in clear otherwise.
   */
  private realm(challenge: Challenge): URL {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw new RegistryError('auth-protocol', `${this.registry} names a token realm that is not a URL`, {registry: this.registry});
    }
    if (realm.username || realm.password) {
      throw new RegistryError('auth-protocol', `${this.registry} names a token realm with credentials in it`, {registry: this.registry});
    }
    if (realm.protocol === 'https:') return realm;
    const hostPort = `${realm.hostname}:${realm.port || '80'}`;
    const listed = this.options.insecureRegistries.some(h => h === realm.host || h === hostPort);
    if (realm.protocol === 'http:' && listed) return realm;
    throw new RegistryError('insecure-realm', `${this.registry} would have the credentials sent to ${realm.origin}, which is not HTTPS`, {registry: this.registry, realm: realm.origin});
  }
}
