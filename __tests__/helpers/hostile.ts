/**
 * Small misbehaving servers (test code) for the registry client: a front that sits before a real
 * registry and can answer, rewrite or slow down any request; a capture server standing in for a
 * foreign storage or token host, recording every header it is sent; and a logging forward proxy,
 * as a self-hosted runner's HTTP_PROXY would be.
 */
import http, {type IncomingHttpHeaders, type IncomingMessage, type ServerResponse} from 'node:http';
import net, {type AddressInfo} from 'node:net';
import {setTimeout as sleep} from 'node:timers/promises';

export interface Seen {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The request body (up to 1 MiB). */
  body: Buffer;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body one byte at a time, this many milliseconds apart. */
  trickleMs?: number;
  /** Stream this many bytes of generated content instead of `body` (a blob far larger than it should be). */
  generate?: {bytes: number; chunk?: number; delayMs?: number};
}

/** What the registry answered, for a rewrite. */
export interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * What to do with a request to the front: undefined forwards it untouched; a Reply answers it
 * without the registry; `{ rewrite }` forwards it and replaces the registry's answer.
 */
export type FrontRule = (req: Seen) => undefined | Reply | {rewrite: (upstream: Upstream, front: string) => Reply};

export interface Server {
  host: string;
  url: string;
  seen: Seen[];
  stop(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  server.keepAliveTimeout = 1000;
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function stopper(server: http.Server): () => Promise<void> {
  return () =>
    new Promise(resolve => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= 1024 * 1024) chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function send(res: ServerResponse, reply: Reply): Promise<void> {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : (reply.body ?? Buffer.alloc(0));
  const length = reply.generate ? reply.generate.bytes : body.length;
  res.writeHead(reply.status, {'content-length': String(length), ...reply.headers});
  if (reply.generate) {
    const chunk = Buffer.alloc(reply.generate.chunk ?? 256 * 1024, 0x61);
    for (let sent = 0; sent < reply.generate.bytes && !res.destroyed; sent += chunk.length) {
      const ok = res.write(chunk.subarray(0, Math.min(chunk.length, reply.generate.bytes - sent)));
      if (!ok) {
        await new Promise<void>(resolve => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (reply.generate.delayMs) await sleep(reply.generate.delayMs);
    }
    res.end();
    return;
  }
  if (reply.trickleMs) {
    for (let i = 0; i < body.length && !res.destroyed; i++) {
      res.write(body.subarray(i, i + 1));
      await sleep(reply.trickleMs);
    }
    res.end();
    return;
  }
  res.end(body);
}

/** A front before `target` (http://host:port of a registry), applying `rule` to every request. */
export async function startFront(target: string, rule: FrontRule): Promise<Server> {
  const upstream = new URL(target);
  const seen: Seen[] = [];
  let self = '';
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const request: Seen = {method: req.method ?? '', url: req.url ?? '', headers: req.headers, body};
      seen.push(request);
      const decision = rule(request);
      if (decision && 'status' in decision) return send(res, decision);
      const answer = await new Promise<Upstream>((resolve, reject) => {
        const forward = http.request({host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: {...req.headers, host: upstream.host}}, up => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => resolve({status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks)}));
          up.on('error', reject);
        });
        forward.on('error', reject);
        forward.end(body);
      });
      // Locations name the registry; clients come back through the front.
      const location = typeof answer.headers.location === 'string' ? answer.headers.location.replace(upstream.origin, `http://${self}`) : undefined;
      const headers = {...answer.headers, ...(location ? {location} : {})};
      if (decision && 'rewrite' in decision) return send(res, decision.rewrite({...answer, headers}, self));
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) {
        if (v === undefined || k === 'transfer-encoding' || (k === 'content-length' && req.method !== 'HEAD')) continue;
        flat[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      return send(res, {status: answer.status, headers: flat, body: answer.body});
    })().catch(() => res.destroy());
  });
  self = await listen(server);
  return {host: self, url: `http://${self}`, seen, stop: stopper(server)};
}

/** A server that records everything it is sent and answers with `respond`. */
export async function startCapture(respond: (req: Seen, self: string) => Reply): Promise<Server> {
  const seen: Seen[] = [];
  let self = '';
  const server = http.createServer((req, res) => {
    void (async () => {
      const request: Seen = {method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: await readBody(req)};
      seen.push(request);
      await send(res, respond(request, self));
    })().catch(() => res.destroy());
  });
  self = await listen(server);
  return {host: self, url: `http://${self}`, seen, stop: stopper(server)};
}

export interface ForwardProxy {
  host: string;
  url: string;
  /** `GET http://host/path` for forwarded requests, `CONNECT host:port` for tunnels. */
  log: string[];
  stop(): Promise<void>;
}

/** A logging forward proxy: absolute-URI requests forwarded, CONNECT tunnelled. */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URI required');
      return;
    }
    const forward = http.request({host: target.hostname, port: target.port, method: req.method, path: `${target.pathname}${target.search}`, headers: {...req.headers, host: target.host}}, up => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connect', (req: IncomingMessage, client: net.Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const host = await listen(server);
  return {host, url: `http://${host}`, log, stop: stopper(server)};
}

/**
 * The workflow commands a runner would act on in `stdout`, parsed as the runner does: `::cmd
 * props::data` at the start of a line (after white space) and `##[cmd props]data` anywhere, both
 * ignored between `::stop-commands::<token>` and `::<token>::`.
 */
export function runnerCommands(stdout: string): {command: string; data: string}[] {
  const commands: {command: string; data: string}[] = [];
  let stopToken: string | undefined;
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.trimStart();
    if (stopToken !== undefined) {
      if (line === `::${stopToken}::`) stopToken = undefined;
      continue;
    }
    const v2 = /^::([A-Za-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (v2) {
      if (v2[1].toLowerCase() === 'stop-commands') stopToken = v2[2];
      else commands.push({command: v2[1].toLowerCase(), data: v2[2]});
      continue;
    }
    const v1 = /##\[([A-Za-z-]+)[^\]]*\](.*)$/.exec(line);
    if (v1) commands.push({command: v1[1].toLowerCase(), data: v1[2]});
  }
  return commands;
}
