import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  url: string;
  status: number;
  contentLength: number;
}

/** What to do with a request: pass it on, or answer it here with a status. */
export type ProxyRule = (req: IncomingMessage) => 'pass' | { status: number; headers?: Record<string, string> };

export interface TestProxy {
  host: string;
  requests: ProxiedRequest[];
  stop(): Promise<void>;
}

/**
 * A plain-HTTP proxy (test code) in front of a real registry, rewriting nothing but able to
 * answer some requests itself, as a size-limited reverse proxy in front of a registry would.
 */
export async function startProxy(target: string, rule: ProxyRule): Promise<TestProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const record: ProxiedRequest = { method: req.method ?? '', url: req.url ?? '', status: 0, contentLength: Number(req.headers['content-length'] ?? 0) };
    requests.push(record);
    const decision = rule(req);
    if (decision !== 'pass') {
      req.resume();
      req.on('end', () => {
        record.status = decision.status;
        res.writeHead(decision.status, { 'Content-Type': 'text/plain', ...decision.headers });
        res.end('refused by the test proxy');
      });
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      record.status = up.statusCode ?? 0;
      // Locations name the upstream; clients must come back through the proxy.
      const location = up.headers.location?.replace(upstream.origin, `http://${address()}`);
      res.writeHead(up.statusCode ?? 502, { ...up.headers, ...(location ? { location } : {}) });
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = (): string => `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host: address(),
    requests,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
