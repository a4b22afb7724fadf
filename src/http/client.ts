import type {Readable} from 'node:stream';
import {setTimeout as sleep} from 'node:timers/promises';
import {EnvHttpProxyAgent, request, type Dispatcher} from 'undici';
import {DEFAULT_RETRY, backoffMs, isRetriableStatus, retryAfterMs, type RetryPolicy} from './retry.js';

/**
 * Proxies as curl and the Actions runner read them: `http_proxy` for http:// URLs, `https_proxy`
 * for https:// URLs (lower case first, then upper case), and `no_proxy` for hosts to reach
 * directly (`host`, `.domain`, `host:port`, `*`).
 */
export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

export function proxyFromEnv(env: NodeJS.ProcessEnv): ProxySettings {
  const pick = (lower: string, upper: string): string => env[lower] || env[upper] || '';
  return {httpProxy: pick('http_proxy', 'HTTP_PROXY'), httpsProxy: pick('https_proxy', 'HTTPS_PROXY'), noProxy: pick('no_proxy', 'NO_PROXY')};
}

/** Keep-alive connection pools, one through each scheme's proxy (or none), shared by clients. */
export class Connections {
  private readonly http: Dispatcher;
  private readonly https: Dispatcher;

  constructor(proxy: ProxySettings, connectionsPerOrigin = 8) {
    const common = {connections: connectionsPerOrigin, noProxy: proxy.noProxy, keepAliveTimeout: 30_000};
    // Two agents so that an http:// proxy is never used for https:// URLs (undici would fall back
    // to it), as the runner and curl behave. An empty string means "no proxy" to undici.
    this.http = new EnvHttpProxyAgent({...common, httpProxy: proxy.httpProxy, httpsProxy: ''});
    this.https = new EnvHttpProxyAgent({...common, httpProxy: '', httpsProxy: proxy.httpsProxy});
  }

  for(url: URL): Dispatcher {
    return url.protocol === 'https:' ? this.https : this.http;
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.https.close()]);
  }
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a factory so that every attempt gets a fresh stream. */
  body?: Buffer | (() => Readable);
  contentLength?: number;
  /** The whole exchange, the response body included, must end within this; else it is retried. */
  timeoutMs?: number;
  /** Buffered response bodies larger than this are refused (a hostile or broken server). */
  maxBodyBytes?: number;
  /** Streams a 200 response's body to this consumer (once per attempt) instead of buffering it. */
  consume?: (body: Readable) => Promise<void>;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  url: URL;
  /** How many attempts it took (1 when no retry was needed). */
  attempts: number;
}

/** Why a request got no usable HTTP response. */
export type TransportFailure = 'network' | 'timeout' | 'too-large' | 'tls' | 'cancelled' | 'body';

/** A request that got no usable response: the network failed, it took too long, or it was too large. */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly failure: TransportFailure;
  /** The system's or undici's code (ECONNREFUSED, UND_ERR_SOCKET, DEPTH_ZERO_SELF_SIGNED_CERT ...), when there is one. */
  readonly code: string | undefined;
  readonly method: string;
  /** The URL without credentials, query or fragment. */
  readonly url: string;
  /** Attempts made before giving up. */
  attempts = 1;
  /** For timeouts: the limit each attempt had. */
  readonly timeoutMs: number | undefined;

  constructor(failure: TransportFailure, message: string, request: Pick<HttpRequest, 'method' | 'url'>, options: {code?: string; cause?: unknown; timeoutMs?: number} = {}) {
    super(message, {cause: options.cause});
    this.failure = failure;
    this.code = options.code;
    this.timeoutMs = options.timeoutMs;
    this.method = request.method;
    this.url = safeUrl(request.url);
  }

  get retriable(): boolean {
    return this.failure === 'network' || this.failure === 'timeout';
  }
}

/** A URL as it may appear in messages: no user info, query (upload state, signatures) or fragment. */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Error bodies beyond this are cut: only their error codes matter. */
const ERROR_BODY_BYTES = 64 * 1024;

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;

export interface HttpClientOptions {
  connections: Connections;
  userAgent: string;
  /** Default time limit of one attempt, response body included. */
  timeoutMs: number;
  /** Default cap of buffered response bodies. */
  maxBodyBytes: number;
  retry?: RetryPolicy;
  /** Cancels every request in flight (the job was cancelled). */
  signal?: AbortSignal;
  debug?: (message: string) => void;
}

/** Counts of what one client sent. */
export interface HttpStats {
  requests: number;
  retries: number;
}

/**
 * HTTP over undici with keep-alive pools and proxies, bounded in time (per attempt, body
 * included) and in size (buffered bodies), with retries on 408, 429 (honouring Retry-After),
 * 5xx and network failures. Redirects are never followed: callers decide where credentials go.
 */
export class HttpClient {
  readonly stats: HttpStats = {requests: 0, retries: 0};
  private readonly options: HttpClientOptions;

  constructor(options: HttpClientOptions) {
    this.options = options;
  }

  /** One exchange, no retry. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    this.stats.requests++;
    const timeoutMs = req.timeoutMs ?? this.options.timeoutMs;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([timeout.signal, this.options.signal]) : timeout.signal;
    const headers: Record<string, string> = {'user-agent': this.options.userAgent, ...lowerCase(req.headers ?? {})};
    const body = typeof req.body === 'function' ? req.body() : req.body;
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    else if (body) headers['content-length'] = String(req.contentLength ?? 0);
    else if (['PUT', 'POST', 'PATCH'].includes(req.method)) headers['content-length'] = '0';
    let bodyError: unknown;
    if (body && !Buffer.isBuffer(body)) body.once('error', error => (bodyError = error));
    let consuming = false;
    try {
      const response = await request(req.url, {
        method: req.method,
        headers,
        body: body ?? null,
        dispatcher: this.options.connections.for(req.url),
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs
      });
      const base = {status: response.statusCode, headers: response.headers, url: req.url, attempts: 1};
      if (req.consume && response.statusCode === 200) {
        consuming = true;
        await req.consume(response.body);
        return {...base, body: Buffer.alloc(0)};
      }
      const success = response.statusCode >= 200 && response.statusCode < 300;
      const limit = success ? (req.maxBodyBytes ?? this.options.maxBodyBytes) : ERROR_BODY_BYTES;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit && !success) {
          // An error body is read for its error codes only: the rest is dropped, not refused.
          chunks.push(chunk.subarray(0, Math.max(0, chunk.length - (size - limit))));
          response.body.destroy();
          break;
        }
        if (size > limit) {
          response.body.destroy();
          throw new TransportError('too-large', `the response to ${req.method} ${safeUrl(req.url)} is larger than ${limit} bytes`, req);
        }
        chunks.push(chunk);
      }
      return {...base, body: Buffer.concat(chunks)};
    } catch (error) {
      if (body && !Buffer.isBuffer(body)) body.destroy();
      if (error instanceof TransportError) throw error;
      if (this.options.signal?.aborted) throw new TransportError('cancelled', `${req.method} ${safeUrl(req.url)} was cancelled`, req, {cause: error});
      if (timeout.signal.aborted) {
        throw new TransportError('timeout', `${req.method} ${safeUrl(req.url)} did not complete within ${timeoutMs / 1000} s`, req, {code: 'ETIMEDOUT', cause: error, timeoutMs});
      }
      // The consumer's own refusals (too large, a full disk) are not the network's: passed on as they are.
      if (consuming && !isNetworkError(error)) throw error;
      if (bodyError) throw new TransportError('body', `the body of ${req.method} ${safeUrl(req.url)} could not be read: ${message(bodyError)}`, req, {code: code(bodyError), cause: bodyError});
      const errorCode = code(error);
      const failure: TransportFailure = errorCode && TLS_CODES.test(errorCode) ? 'tls' : /wrong version number/i.test(message(error)) ? 'tls' : 'network';
      throw new TransportError(failure, `${req.method} ${safeUrl(req.url)} failed: ${errorCode ?? message(error)}`, req, {code: errorCode, cause: error});
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends with retries on 408, 429, 5xx, network failures and timeouts, with exponential
   * backoff and jitter, within the policy's budget. Other statuses go back to the caller; after
   * the last attempt, so does a retriable one. Each attempt re-creates the body from its factory.
   */
  async sendWithRetry(req: HttpRequest, policy: RetryPolicy = this.options.retry ?? DEFAULT_RETRY): Promise<HttpResponse> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let waitMs: number;
      let reason: string;
      let failure: {response: HttpResponse} | {error: TransportError};
      try {
        const response = await this.send(req);
        response.attempts = attempt;
        if (!isRetriableStatus(response.status)) return response;
        failure = {response};
        reason = `HTTP ${response.status}`;
        waitMs = retryAfterMs(response.headers['retry-after']) ?? backoffMs(attempt, policy);
      } catch (error) {
        if (!(error instanceof TransportError) || !error.retriable) throw error;
        error.attempts = attempt;
        failure = {error};
        reason = error.code ?? error.failure;
        waitMs = backoffMs(attempt, policy);
      }
      if (attempt >= policy.attempts || Date.now() - started + waitMs > policy.budgetMs || this.options.signal?.aborted) {
        if ('response' in failure) return failure.response;
        throw failure.error;
      }
      this.stats.retries++;
      this.options.debug?.(`${req.method} ${safeUrl(req.url)}: ${reason}; retry ${attempt} of ${policy.attempts - 1} in ${waitMs} ms`);
      await sleep(waitMs, undefined, this.options.signal ? {signal: this.options.signal} : undefined).catch(() => undefined);
    }
  }
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A failure of the connection (reset, refused, closed), as opposed to one of the program. */
function isNetworkError(error: unknown): boolean {
  const errorCode = code(error);
  return errorCode !== undefined && (NETWORK_CODES.has(errorCode) || errorCode.startsWith('UND_ERR_'));
}

function lowerCase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function code(error: unknown): string | undefined {
  const own = (error as NodeJS.ErrnoException | undefined)?.code;
  const cause = (error as {cause?: NodeJS.ErrnoException} | undefined)?.cause?.code;
  return typeof own === 'string' && own !== 'UND_ERR_SOCKET' ? own : (cause ?? own);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first value of a response header. */
export function header(response: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
