import http, {type IncomingMessage, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';

export interface ProxiedRequest {
  method: string;
  url: string;
  status: number;
  contentLength: number;
  /** The fault injected, if any. */
  fault?: string;
}

/**
 * What to do with a request: pass it on; answer it here with a status; reset the connection
 * before forwarding; forward it and reset the connection once the registry has acted (the case
 * where a blob is stored but the client never hears so); or hold it until released.
 */
export type ProxyRule = (req: IncomingMessage, n: number) => 'pass' | 'reset-before' | 'reset-after' | {status: number; headers?: Record<string, string>} | {hold: Promise<void>};

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
    const record: ProxiedRequest = {method: req.method ?? '', url: req.url ?? '', status: 0, contentLength: Number(req.headers['content-length'] ?? 0)};
    requests.push(record);
    const decision = rule(req, requests.length - 1);
    if (decision === 'reset-before') {
      record.fault = 'reset-before';
      req.socket.destroy();
      return;
    }
    if (typeof decision === 'object' && 'status' in decision) {
      record.fault = String(decision.status);
      req.resume();
      req.on('end', () => {
        record.status = decision.status;
        res.writeHead(decision.status, {'Content-Type': 'text/plain', ...decision.headers});
        res.end('refused by the test proxy');
      });
      return;
    }
    if (typeof decision === 'object' && 'hold' in decision) {
      record.fault = 'hold';
      req.pause();
      decision.hold.then(
        () => req.resume(),
        () => req.socket.destroy()
      );
    }
    const resetAfter = decision === 'reset-after';
    if (resetAfter) record.fault = 'reset-after';
    const headers = {...req.headers, host: upstream.host};
    const forward = http.request({host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers}, up => {
      record.status = up.statusCode ?? 0;
      if (resetAfter) {
        // The registry has acted on the request; the client never hears of it.
        up.resume();
        up.on('end', () => req.socket.destroy());
        return;
      }
      // Locations name the upstream; clients must come back through the proxy.
      const location = up.headers.location?.replace(upstream.origin, `http://${address()}`);
      res.writeHead(up.statusCode ?? 502, {...up.headers, ...(location ? {location} : {})});
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = (): string => `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host: address(),
    requests,
    stop: () =>
      new Promise(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
}
