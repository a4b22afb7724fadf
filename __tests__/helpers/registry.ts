/**
 * A real container registry (CNCF distribution 2.8, Debian's `docker-registry`) on 127.0.0.1 for
 * integration tests: anonymous over HTTP, htpasswd Basic auth over TLS, or Bearer tokens from a
 * token server that runs inside the test process.
 *
 * Two choices keep tests that run child processes synchronously (exec()/execOk() use spawnSync)
 * from deadlocking against the harness:
 * - the token server runs in a worker thread, so it keeps answering while the main thread is
 *   blocked in spawnSync (a child like skopeo or the action bundle still gets its tokens);
 * - the registry writes its output to a file rather than a pipe, so a long push cannot fill a
 *   pipe buffer nobody is reading. requests() and tokenRequests() read those logs synchronously.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createHash, createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject} from 'node:crypto';
import {appendFileSync, closeSync, existsSync, openSync, readFileSync, rmSync} from 'node:fs';
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import http, {type IncomingHttpHeaders, type IncomingMessage, type ServerResponse} from 'node:http';
import https from 'node:https';
import net, {type AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {Worker, isMainThread, parentPort, workerData} from 'node:worker_threads';
import {execOk} from './exec.js';

/** 'delete' and '*' go beyond pull/push so a test can grant manifest deletion (token auth only). */
export type RegistryAction = 'pull' | 'push' | 'delete' | '*';

export interface RegistryUser {
  username: string;
  password: string;
  /** Token auth only (htpasswd has no authorisation: every valid user may do anything). Default pull+push. */
  actions?: RegistryAction[];
}

export interface StartOptions {
  /** Serve HTTPS with a fresh self-signed CA. */
  tls?: boolean;
  /**
   * Basic auth. Usually paired with tls: true, as real registries are; distribution 2.8.2 also
   * accepts Basic credentials over plain HTTP (clients may refuse to send them there).
   */
  htpasswd?: RegistryUser[];
  /** Bearer tokens from an in-process token server. */
  token?: {
    users: RegistryUser[];
    /** Requests without credentials get pull on every repository instead of nothing. */
    anonymousPull?: boolean;
    /** How the JWT names its signing key: an x5c certificate chain (default) or a libtrust kid. */
    jwtHeader?: 'x5c' | 'kid';
  };
}

export interface TokenRequest {
  method: string;
  path: string;
  /** Every scope asked for, one per entry ("repository:a/b:pull,push"). */
  scopes: string[];
  /** The user named by the request (Basic header or form body), whether or not the password was right. */
  username?: string;
  /** For POST: password or refresh_token. */
  grantType?: string;
  service?: string;
  status: number;
  /** The token handed out, so tests can check it leaked nowhere. */
  issued?: string;
}

export interface RegistryRequest {
  method: string;
  /** The path without its query string. */
  path: string;
  /** The raw query string without "?", '' when there is none. */
  query: string;
  status: number;
  userAgent: string;
}

export interface ManifestResponse {
  status: number;
  body: Buffer;
  digest?: string;
  mediaType?: string;
}

export interface TestRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  /** "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT" */
  url: string;
  /** PEM of the CA (for NODE_EXTRA_CA_CERTS); set with tls. */
  caFile?: string;
  /** A directory holding only ca.crt (for skopeo --cert-dir); set with tls. */
  certDir?: string;
  /** The harness's own user; present when the registry needs auth. */
  admin?: {username: string; password: string};
  /**
   * skopeo flags to reach this registry: TLS flags plus credentials of the given user, of the
   * admin when user is omitted (only if the registry has auth), or none when user is null.
   * 'plain' is for inspect/list-tags/delete, 'src'/'dest' for copy.
   */
  skopeoFlags(kind: 'src' | 'dest' | 'plain', user?: {username: string; password: string} | null): string[];
  /** Repositories, sorted, read as admin. */
  catalog(): Promise<string[]>;
  /** Tags of a repository, sorted, read as admin; [] when the repository does not exist. */
  tags(repository: string): Promise<string[]>;
  /** GETs a manifest by tag or digest as admin (accepting every manifest and index type). */
  manifest(repository: string, reference: string): Promise<ManifestResponse>;
  /**
   * The registry's access log so far, without the harness's own admin requests. A response body
   * larger than Go's write buffer can reach the client a moment before its log line is written.
   */
  requests(): RegistryRequest[];
  /** Requests the token server has answered so far (token auth only; [] otherwise). */
  tokenRequests(): TokenRequest[];
  /** http://127.0.0.1:PORT/token with token auth. */
  tokenRealm?: string;
  /** The Bearer challenge's service name with token auth. */
  tokenService?: string;
  /** Everything the registry has printed (its own log and the access log), for failure messages. */
  log(): string;
  /** Kills the registry and token server and removes the temporary directories. Idempotent. */
  stop(): Promise<void>;
}

const SERVICE = 'harness-registry';
const ISSUER = 'harness-token-issuer';
const ADMIN_NAME = 'harness-admin';
/** The harness's own requests carry this User-Agent so requests() can leave them out. */
const HARNESS_AGENT = 'registry-harness/1.0';
const TOKEN_LIFETIME_SECONDS = 300;
const MANIFEST_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json'];

export async function startRegistry(options: StartOptions = {}): Promise<TestRegistry> {
  if (options.htpasswd && options.token) throw new Error('startRegistry: choose htpasswd or token auth, not both');
  const root = await mkdtemp(path.join(tmpdir(), 'test-registry-'));
  const admin = options.htpasswd || options.token ? {username: ADMIN_NAME, password: randomBytes(12).toString('hex')} : undefined;
  let child: ChildProcess | undefined;
  let tokenServer: Worker | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child) await killRegistry(child);
    if (tokenServer) await tokenServer.terminate();
    await rm(root, {recursive: true, force: true});
  };

  try {
    const config: RegistryConfig = {
      version: '0.1',
      log: {accesslog: {disabled: false}, level: 'info', formatter: 'text'},
      storage: {filesystem: {rootdirectory: path.join(root, 'data')}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}},
      http: {addr: '127.0.0.1:0', secret: randomBytes(16).toString('hex')}
    };

    let caFile: string | undefined;
    let certDir: string | undefined;
    if (options.tls) {
      const tlsDir = path.join(root, 'tls');
      certDir = path.join(root, 'certs');
      await mkdir(tlsDir);
      await mkdir(certDir);
      // A self-signed leaf that is its own CA: clients trust it as ca.crt and the server serves it.
      caFile = path.join(certDir, 'ca.crt');
      const keyFile = path.join(tlsDir, 'key.pem');
      execOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '2', '-keyout', keyFile, '-out', caFile]);
      config.http.tls = {certificate: caFile, key: keyFile};
    }

    if (options.htpasswd && admin) {
      const htpasswdFile = path.join(root, 'htpasswd');
      // distribution only understands bcrypt entries.
      const lines = [...options.htpasswd, admin].map(u => execOk('htpasswd', ['-Bbn', u.username, u.password]).trim());
      await writeFile(htpasswdFile, `${lines.join('\n')}\n`);
      config.auth = {htpasswd: {realm: 'harness-basic-realm', path: htpasswdFile}};
    }

    let signer: TokenSigner | undefined;
    let tokenLog: string | undefined;
    let tokenRealm: string | undefined;
    if (options.token && admin) {
      const keyFile = path.join(root, 'token-key.pem');
      const certFile = path.join(root, 'token-cert.pem');
      execOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=harness token signer', '-days', '2', '-keyout', keyFile, '-out', certFile]);
      const certPem = readFileSync(certFile, 'utf8');
      tokenLog = path.join(root, 'token-requests.jsonl');
      await writeFile(tokenLog, '');
      signer = {
        keyPem: readFileSync(keyFile, 'utf8'),
        certDer: new X509Certificate(certPem).raw.toString('base64'),
        keyId: libtrustKeyId(new X509Certificate(certPem)),
        jwtHeader: options.token.jwtHeader ?? 'x5c',
        service: SERVICE,
        issuer: ISSUER
      };
      const started = await startTokenServer({
        signer,
        users: options.token.users,
        admin,
        anonymousPull: options.token.anonymousPull ?? false,
        logFile: tokenLog
      });
      tokenServer = started.worker;
      tokenRealm = `http://127.0.0.1:${started.port}/token`;
      config.auth = {token: {realm: tokenRealm, service: SERVICE, issuer: ISSUER, rootcertbundle: certFile}};
    }

    const configFile = path.join(root, 'config.yml');
    // JSON is YAML, and saves quoting rules.
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const logFile = path.join(root, 'registry.log');
    const fd = openSync(logFile, 'a');
    try {
      child = spawn('docker-registry', ['serve', configFile], {stdio: ['ignore', fd, fd], env: registryEnv()});
    } finally {
      closeSync(fd);
    }
    trackChild(child, root);
    const port = await waitForPort(child, logFile);
    const host = `127.0.0.1:${port}`;
    const url = `${options.tls ? 'https' : 'http'}://${host}`;
    const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;

    /** A request as admin: Basic up front, or a Bearer token minted for the scope the registry's challenge asks. */
    const adminRequest = async (pathAndQuery: string, headers: Record<string, string> = {}): Promise<HttpResponse> => {
      const base: Record<string, string> = {'User-Agent': HARNESS_AGENT, ...headers};
      if (options.htpasswd && admin) base.Authorization = basicAuth(admin.username, admin.password);
      let res = await httpRequest(`${url}${pathAndQuery}`, {headers: base, ca});
      const challenge = res.headers['www-authenticate'];
      if (res.status === 401 && signer && admin && typeof challenge === 'string') {
        const scopes = (parseChallenge(challenge).params.scope ?? '').split(' ').filter(Boolean);
        const token = mintToken(createPrivateKey(signer.keyPem), signer, admin.username, grantAccess({kind: 'admin'}, scopes));
        res = await httpRequest(`${url}${pathAndQuery}`, {headers: {...base, Authorization: `Bearer ${token}`}, ca});
      }
      return res;
    };

    /** Follows Link: <...>; rel="next" pagination, collecting one JSON array field. */
    const paged = async (first: string, field: 'repositories' | 'tags'): Promise<string[] | undefined> => {
      const all: string[] = [];
      let next: string | undefined = first;
      while (next) {
        const res = await adminRequest(next);
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw new Error(`GET ${next} as admin: ${res.status} ${res.body.toString()}`);
        const json = JSON.parse(res.body.toString()) as Record<string, unknown>;
        const items = json[field];
        if (Array.isArray(items)) all.push(...items.map(String));
        const link = res.headers.link;
        next = typeof link === 'string' ? /<([^>]+)>;\s*rel="?next"?/.exec(link)?.[1] : undefined;
      }
      return all.sort();
    };

    return {
      host,
      url,
      caFile,
      certDir,
      admin,
      tokenRealm,
      tokenService: signer ? SERVICE : undefined,
      skopeoFlags(kind, user) {
        const prefix = kind === 'plain' ? '--' : `--${kind}-`;
        const flags = certDir ? [`${prefix}cert-dir=${certDir}`] : [`${prefix}tls-verify=false`];
        const who = user === undefined ? admin : (user ?? undefined);
        if (who) flags.push(`${prefix}creds=${who.username}:${who.password}`);
        return flags;
      },
      async catalog() {
        return (await paged('/v2/_catalog', 'repositories')) ?? [];
      },
      async tags(repository) {
        return (await paged(`/v2/${repository}/tags/list`, 'tags')) ?? [];
      },
      async manifest(repository, reference) {
        const res = await adminRequest(`/v2/${repository}/manifests/${reference}`, {Accept: MANIFEST_TYPES.join(', ')});
        const digest = res.headers['docker-content-digest'];
        const mediaType = res.headers['content-type'];
        return {
          status: res.status,
          body: res.body,
          digest: typeof digest === 'string' ? digest : undefined,
          mediaType: typeof mediaType === 'string' ? mediaType : undefined
        };
      },
      requests() {
        return parseAccessLog(readLog(logFile)).filter(r => r.userAgent !== HARNESS_AGENT);
      },
      tokenRequests() {
        if (!tokenLog) return [];
        return readLog(tokenLog)
          .split('\n')
          .filter(Boolean)
          .map(line => JSON.parse(line) as TokenRequest);
      },
      log() {
        return readLog(logFile);
      },
      stop
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Writes <dir>/config.json with auths for each host (base64 "user:pass") and returns dir, for DOCKER_CONFIG. */
export async function writeDockerConfig(entries: Record<string, {username: string; password: string}>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'docker-config-'));
  const auths = Object.fromEntries(Object.entries(entries).map(([host, {username, password}]) => [host, {auth: Buffer.from(`${username}:${password}`).toString('base64')}]));
  await writeFile(path.join(dir, 'config.json'), `${JSON.stringify({auths}, null, 2)}\n`);
  return dir;
}

/** An unused loopback address:port that refuses connections (bound then closed), for "unreachable registry" tests. */
export async function unreachableHost(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const {port} = server.address() as AddressInfo;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** Parses a WWW-Authenticate challenge such as `Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string): {scheme: string; params: Record<string, string>} {
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params[m[1]] = m[2];
  return {scheme, params};
}

// ---------------------------------------------------------------------------------------------
// Registry process

interface RegistryConfig {
  version: string;
  log: {accesslog: {disabled: boolean}; level: string; formatter: string};
  storage: Record<string, unknown>;
  http: {addr: string; secret: string; tls?: {certificate: string; key: string}};
  auth?: Record<string, Record<string, string>>;
}

/** Running registries and their temporary directories. */
const liveChildren = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/**
 * The child is unref'd so a test file that forgets stop() still ends; the exit hook then kills
 * the registry and removes its directory rather than leaving them behind.
 */
function trackChild(child: ChildProcess, root: string): void {
  liveChildren.set(child, root);
  child.unref();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const [c, dir] of liveChildren) {
        c.kill('SIGKILL');
        rmSync(dir, {recursive: true, force: true});
      }
    });
  }
}

/** The environment without REGISTRY_* variables, which distribution would read as config overrides. */
function registryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
}

async function waitForPort(child: ChildProcess, logFile: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const log = readLog(logFile);
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
    if (m) return Number(m[1]);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}) before listening:\n${log}`);
    if (Date.now() > deadline) throw new Error(`docker-registry did not report its port within 10 s:\n${log}`);
    await sleep(20);
  }
}

async function killRegistry(child: ChildProcess): Promise<void> {
  liveChildren.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref(); // keep the loop alive until the exit event arrives
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function readLog(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** Apache combined format: 127.0.0.1 - - [date] "POST /v2/x/blobs/uploads/ HTTP/1.1" 202 0 "" "skopeo/1.9" */
const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) \S+ "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"/;

function parseAccessLog(log: string): RegistryRequest[] {
  const requests: RegistryRequest[] = [];
  for (const line of log.split('\n')) {
    const m = ACCESS_LINE.exec(line);
    if (!m) continue;
    const [, method, uri, status, userAgent] = m;
    const q = uri.indexOf('?');
    requests.push({method, path: q < 0 ? uri : uri.slice(0, q), query: q < 0 ? '' : uri.slice(q + 1), status: Number(status), userAgent});
  }
  return requests;
}

// ---------------------------------------------------------------------------------------------
// HTTP client (the harness's admin requests, and tests that need to trust the registry's CA)

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A plain node:http(s) request, since fetch cannot be told to trust a CA; pass registry.caFile's contents as ca. */
export function httpRequest(url: string, init: {method?: string; headers?: Record<string, string>; body?: string | Buffer; ca?: string} = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // agent: false so no keep-alive socket outlives stop().
    const req = transport.request(target, {method: init.method ?? 'GET', headers: init.headers, ca: init.ca, agent: false}, res => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks)}));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------
// Tokens (shared by the main thread, which mints admin tokens, and the token server worker)

interface TokenSigner {
  keyPem: string;
  /** base64 DER of the self-signed signing certificate, for the x5c header. */
  certDer: string;
  keyId: string;
  jwtHeader: 'x5c' | 'kid';
  service: string;
  issuer: string;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

type Identity = {kind: 'admin'} | {kind: 'user'; actions: readonly string[]} | {kind: 'anonymous'; pull: boolean};

/**
 * libtrust's key ID, which distribution matches against a JWT's kid: the first 240 bits of the
 * SHA-256 of the DER SubjectPublicKeyInfo, base32 without padding, in ':'-joined groups of 4.
 */
export function libtrustKeyId(cert: X509Certificate): string {
  const spki = cert.publicKey.export({type: 'spki', format: 'der'});
  const encoded = base32(createHash('sha256').update(spki).digest().subarray(0, 30));
  return encoded.match(/.{4}/g)?.join(':') ?? encoded;
}

function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** Splits "repository:a/b:push,pull" into type, name and actions; the name is everything between the first and last ':'. */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean)
  };
}

/** The access claim: for each requested scope, the requested actions the identity holds. */
function grantAccess(identity: Identity, scopes: readonly string[]): Access[] {
  const granted: Access[] = [];
  for (const scope of scopes) {
    const wanted = parseScope(scope);
    if (!wanted) continue;
    let actions: string[];
    if (identity.kind === 'admin') actions = wanted.actions;
    else if (wanted.type !== 'repository' && !wanted.type.startsWith('repository('))
      actions = []; // registry:catalog:* is admin only
    else if (identity.kind === 'anonymous') actions = identity.pull ? wanted.actions.filter(a => a === 'pull') : [];
    else actions = wanted.actions.filter(a => identity.actions.includes('*') || identity.actions.includes(a));
    if (actions.length > 0) granted.push({type: wanted.type, name: wanted.name, actions});
  }
  return granted;
}

function mintToken(key: KeyObject, signer: TokenSigner, subject: string, access: Access[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = signer.jwtHeader === 'x5c' ? {typ: 'JWT', alg: 'RS256', x5c: [signer.certDer]} : {typ: 'JWT', alg: 'RS256', kid: signer.keyId};
  const claims = {
    iss: signer.issuer,
    sub: subject,
    aud: signer.service,
    exp: now + TOKEN_LIFETIME_SECONDS,
    nbf: now - 10, // tolerate a clock a little ahead of ours
    iat: now,
    jti: randomBytes(16).toString('hex'),
    access
  };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------
// Token server (worker thread)

interface TokenServerConfig {
  signer: TokenSigner;
  users: RegistryUser[];
  admin: {username: string; password: string};
  anonymousPull: boolean;
  /** JSON lines of TokenRequest, appended before each response is sent. */
  logFile: string;
}

async function startTokenServer(config: TokenServerConfig): Promise<{worker: Worker; port: number}> {
  const worker = new Worker(new URL(import.meta.url), {workerData: {harnessTokenServer: config}});
  // A later crash must not become an unhandled 'error' event in the test process.
  worker.on('error', err => console.error('registry harness: token server failed:', err));
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: {port?: number}) => (typeof message.port === 'number' ? resolve(message.port) : reject(new Error('token server sent no port'))));
    worker.once('error', reject);
    worker.once('exit', code => reject(new Error(`token server exited (${code}) before listening`)));
  });
  worker.unref();
  return {worker, port};
}

function isTokenServerData(data: unknown): data is {harnessTokenServer: TokenServerConfig} {
  return typeof data === 'object' && data !== null && 'harnessTokenServer' in data;
}

if (!isMainThread && isTokenServerData(workerData)) serveTokens(workerData.harnessTokenServer);

function serveTokens(config: TokenServerConfig): void {
  const key = createPrivateKey(config.signer.keyPem);
  const refreshTokens = new Map<string, string>(); // opaque refresh token → username

  const identify = (username: string | undefined, password: string | undefined): Identity | undefined => {
    if (username === config.admin.username && password === config.admin.password) return {kind: 'admin'};
    const user = config.users.find(u => u.username === username && u.password === password);
    return user ? {kind: 'user', actions: user.actions ?? ['pull', 'push']} : undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: TokenRequest = {method: req.method ?? '', path: url.pathname, scopes: [], status: 0};
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      const issued = (body as {token?: unknown; access_token?: unknown} | undefined)?.access_token;
      if (typeof issued === 'string') record.issued = issued;
      appendFileSync(config.logFile, `${JSON.stringify(record)}\n`);
      res.writeHead(status, {'Content-Type': 'application/json', ...headers});
      res.end(JSON.stringify(body));
    };
    const unauthorized = (): void => reply(401, {errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]}, {'WWW-Authenticate': 'Basic realm="harness-token-server"'});

    if (url.pathname !== '/token') return reply(404, {errors: [{code: 'NOT_FOUND', message: 'no such endpoint'}]});

    if (req.method === 'GET') {
      record.scopes = url.searchParams
        .getAll('scope')
        .flatMap(s => s.split(' '))
        .filter(Boolean);
      record.service = url.searchParams.get('service') ?? undefined;
      const credentials = parseBasic(req.headers.authorization);
      let identity: Identity = {kind: 'anonymous', pull: config.anonymousPull};
      if (credentials) {
        record.username = credentials.username;
        const known = identify(credentials.username, credentials.password);
        if (!known) return unauthorized();
        identity = known;
      }
      const token = mintToken(key, config.signer, credentials?.username ?? '', grantAccess(identity, record.scopes));
      return reply(200, {token, access_token: token, expires_in: TOKEN_LIFETIME_SECONDS, issued_at: new Date().toISOString()});
    }

    if (req.method === 'POST') {
      // Docker-style OAuth2: grant_type=password or refresh_token in a form body.
      const form = new URLSearchParams(await readBody(req));
      record.grantType = form.get('grant_type') ?? undefined;
      record.service = form.get('service') ?? undefined;
      record.scopes = form
        .getAll('scope')
        .flatMap(s => s.split(' '))
        .filter(Boolean);
      let username: string | undefined;
      let identity: Identity | undefined;
      if (record.grantType === 'password') {
        username = form.get('username') ?? undefined;
        record.username = username;
        identity = identify(username, form.get('password') ?? undefined);
      } else if (record.grantType === 'refresh_token') {
        username = refreshTokens.get(form.get('refresh_token') ?? '');
        record.username = username;
        const user = config.users.find(u => u.username === username);
        if (username === config.admin.username) identity = {kind: 'admin'};
        else if (user) identity = {kind: 'user', actions: user.actions ?? ['pull', 'push']};
      } else {
        return reply(400, {error: 'unsupported_grant_type'});
      }
      if (!identity || username === undefined) return unauthorized();
      const refreshToken = randomBytes(24).toString('hex');
      refreshTokens.set(refreshToken, username);
      const token = mintToken(key, config.signer, username, grantAccess(identity, record.scopes));
      return reply(200, {
        access_token: token,
        token,
        refresh_token: refreshToken,
        expires_in: TOKEN_LIFETIME_SECONDS,
        issued_at: new Date().toISOString(),
        scope: record.scopes.join(' ')
      });
    }

    return reply(405, {errors: [{code: 'UNSUPPORTED', message: 'GET or POST only'}]}, {Allow: 'GET, POST'});
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, {'Content-Type': 'text/plain'});
      res.end(String(err));
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort?.postMessage({port: (server.address() as AddressInfo).port}));
}

function parseBasic(header: string | undefined): {username: string; password: string} | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? {username: decoded, password: ''} : {username: decoded.slice(0, colon), password: decoded.slice(colon + 1)};
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
