import * as core from '@actions/core';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a factory so that every attempt gets a fresh stream. */
  body?: Buffer | (() => Readable);
  contentLength?: number;
  /** For large downloads: a 200 response body is handed to this consumer (once per attempt) instead of held. */
  consumeBody?: (body: Readable) => Promise<void>;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  url: URL;
}

// Keep-alive connections: a publish makes many small requests to one host.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }),
};

/** Responses are manifests, tokens and errors; anything larger is refused rather than buffered. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 120_000;

/** One HTTP exchange, no retries, no redirects followed. */
export function send(request: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const transport = request.url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'User-Agent': 'multiarch-buildpack-action', ...request.headers };
    const body = typeof request.body === 'function' ? request.body() : request.body;
    if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
    else if (body) headers['Content-Length'] = String(request.contentLength ?? 0);
    else if (['PUT', 'POST', 'PATCH'].includes(request.method)) headers['Content-Length'] = '0';
    const req = transport.request(
      request.url,
      { method: request.method, headers, agent: agents[request.url.protocol as 'http:' | 'https:'], timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        if (request.consumeBody && res.statusCode === 200) {
          request.consumeBody(res).then(
            () => resolve({ status: 200, headers: res.headers, body: Buffer.alloc(0), url: request.url }),
            reject,
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy(new Error(`response from ${request.url.host} larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url: request.url }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (error) => {
      if (body && !Buffer.isBuffer(body)) body.destroy();
      reject(error);
    });
    if (!body) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', (error) => req.destroy(error));
      body.pipe(req);
    }
  });
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The whole exchange, retries included, ends within this. */
  budgetMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8_000, budgetMs: 120_000 };

const RETRIABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

export function isRetriableError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && RETRIABLE_CODES.has(code)) || /socket hang up/i.test(String((error as Error).message));
}

/** Retry-After in seconds or as an HTTP date, in milliseconds; undefined when absent or odd. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Counts retries across the run, for the info-level summary. */
export const retryStats = { retries: 0 };

/**
 * Sends with retries on 408, 429 (honouring Retry-After), 5xx and network failures, with
 * exponential backoff and full jitter, within a bounded total time. Other statuses are returned
 * to the caller. Each attempt re-creates the body from its factory.
 */
export async function sendWithRetry(request: HttpRequest, policy: RetryPolicy = DEFAULT_RETRY): Promise<HttpResponse> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    let outcome: { response: HttpResponse } | { error: unknown };
    let waitMs: number;
    let reason: string;
    try {
      const response = await send(request);
      outcome = { response };
      if (!isRetriableStatus(response.status)) return response;
      reason = `HTTP ${response.status}`;
      waitMs = retryAfterMs(response.headers['retry-after']) ?? backoff(attempt, policy);
    } catch (error) {
      if (!isRetriableError(error)) throw error;
      outcome = { error };
      reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      waitMs = backoff(attempt, policy);
    }
    if (attempt >= policy.attempts || Date.now() - started + waitMs > policy.budgetMs) {
      if ('response' in outcome) return outcome.response;
      throw outcome.error;
    }
    retryStats.retries++;
    core.debug(`${request.method} ${request.url.host}${request.url.pathname}: ${reason}; retry ${attempt} of ${policy.attempts - 1} in ${waitMs} ms`);
    await sleep(waitMs);
  }
}

function backoff(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
