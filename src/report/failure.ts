import {readFileSync} from 'node:fs';
import ioErrors from './io-errors.json' with {type: 'json'};
import {lineOf, parseToml} from '../buildpack/toml.js';
import {TransportError} from '../http/client.js';
import {RegistryError, type RegistryErrorDetails} from '../registry/errors.js';
import {DOCKER_HUB, InvalidReferenceError, apiHost} from '../registry/reference.js';
import {ExternalError, UserError, errorMessage} from '../util/errors.js';
import {ProcessError} from '../util/process.js';

/** How a failure is reported: one sentence, whether the user or the world caused it, or a bug. */
export interface FailureReport {
  sentence: string;
  kind: 'user' | 'external' | 'bug';
  details?: string;
  file?: string;
  line?: number;
  column?: number;
  /** The TOML key in `file` the failure is about, from which `line` is found. */
  key?: string;
}

/** Turns whatever ended the run into the sentence the job log and annotation show. */
export function describeFailure(error: unknown): FailureReport {
  if (error instanceof UserError || error instanceof ExternalError) {
    return withLine({sentence: sentence(error.message), kind: error instanceof UserError ? 'user' : 'external', details: error.details, file: error.file, line: error.line, column: error.column, key: error.key});
  }
  if (error instanceof RegistryError) return explainRegistryError(error);
  if (error instanceof InvalidReferenceError) return {sentence: sentence(error.message), kind: 'user'};
  if (error instanceof TransportError) return {sentence: sentence(`${error.message}; check the network and try again`), kind: 'external'};
  if (error instanceof ProcessError) {
    if (error.notFound) return {sentence: sentence(`${error.command} is not on PATH; install it on the runner, or fix the command`), kind: 'user'};
    const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'EACCES' || code === 'ENOEXEC') return {sentence: sentence(`${error.message}; make it an executable program for this runner (chmod +x), or fix the path`), kind: 'user'};
    return {sentence: sentence(`${error.message}; fix the path`), kind: 'user'};
  }
  const io = describeIoError(error);
  if (io) return io;
  return {sentence: sentence(`Internal error: ${errorMessage(error)}`), kind: 'bug'};
}

/**
 * The line of the TOML key a failure names, read from its file now: errors carry where (file and
 * key), not how to find it, and a failure happens once, so reading the file again is cheap.
 */
function withLine(report: FailureReport): FailureReport {
  if (!report.file || !report.key || report.line !== undefined || !report.file.endsWith('.toml')) return report;
  try {
    const line = lineOf(parseToml(readFileSync(report.file, 'utf8'), report.file), report.key);
    return line === undefined ? report : {...report, line};
  } catch {
    return report; // gone or unreadable by now: the sentence still names the file
  }
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function who(auth: RegistryErrorDetails['auth']): string {
  if (!auth || auth.kind === 'anonymous') return 'anonymous access';
  return auth.kind === 'basic' ? `the user ${auth.username} (from ${auth.source})` : `the identity token from ${auth.source}`;
}

/**
 * The action's words for a registry failure: what happened, in the registry's own terms (its
 * error codes), and what to do about it, naming the inputs that fix it.
 */
export function explainRegistryError(error: RegistryError): FailureReport {
  const d = error.details;
  const registry = d.registry;
  const login = `log in to ${registry} with docker/login-action or set registry-username and registry-password`;
  const user = (text: string): FailureReport => ({sentence: sentence(text), kind: 'user'});
  const external = (text: string): FailureReport => ({sentence: sentence(text), kind: 'external'});
  const anonymous = !d.auth || d.auth.kind === 'anonymous';
  switch (error.reason) {
    case 'unauthorized':
      if (anonymous) return user(`The registry ${registry} requires credentials to ${d.action ?? 'pull'} ${d.repository ?? ''} (HTTP ${d.status}); ${login}`);
      return user(`The registry ${registry} rejected ${who(d.auth)} (HTTP ${d.status}); check the username and password: ${login}`);
    case 'denied': {
      if (anonymous) return user(`The registry ${registry} requires credentials to ${d.action ?? 'pull'} ${d.repository ?? ''} (HTTP ${d.status}); ${login}`);
      const hub = registry === DOCKER_HUB ? ' (GitHub-hosted runners carry a pull-only Docker Hub credential when nobody logged in)' : '';
      return user(
        `The registry ${registry} does not let ${who(d.auth)} ${d.action ?? 'push'} ${d.repository ?? ''} (insufficient_scope)${hub}; use credentials with ${d.action ?? 'push'} rights to ${d.repository ?? 'the repository'}: ${login}`
      );
    }
    case 'token-service':
      if (d.status === 401 || d.status === 403) return user(`The registry ${registry} rejected ${who(d.auth)} (HTTP ${d.status} from its token service); check the username and password: ${login}`);
      return external(`The token service of ${registry} answered HTTP ${d.status} for ${d.repository ?? 'the repository'}; try again later or check the registry's status`);
    case 'unreachable': {
      const attempts = d.attempts === 1 ? '1 attempt' : `${d.attempts ?? 1} attempts`;
      const url = d.url ? new URL(d.url) : undefined;
      const why = d.transport === 'ETIMEDOUT' ? `no complete answer within ${(d.timeoutMs ?? 0) / 1000} s` : d.transport;
      if (url && url.host !== apiHost(registry) && d.realm) {
        return external(`Could not reach the token service ${url.origin} of ${registry} (${why}) after ${attempts}; check that the runner can reach it`);
      }
      if (url && url.host !== apiHost(registry)) {
        return external(`Could not reach ${url.origin}, where ${registry} sent the runner (${why}) after ${attempts}; check that the runner can reach it`);
      }
      return external(`Could not reach the registry ${registry} at ${url?.origin ?? registry} (${why}) after ${attempts}; check the host in tags and that the runner can reach it`);
    }
    case 'tls':
      if (/WRONG_VERSION|wrong version|EPROTO/i.test(d.transport ?? '')) {
        return user(`The registry ${registry} does not speak HTTPS (${d.transport}); list it in insecure-registries to use plain HTTP`);
      }
      return user(`The registry ${registry} presented a certificate that is not trusted (${d.transport}); add its CA certificate with NODE_EXTRA_CA_CERTS, or list ${registry} in insecure-registries if it speaks plain HTTP`);
    case 'insecure-realm': {
      const realm = d.realm ? new URL(d.realm) : undefined;
      return user(`The registry ${registry} sends credentials to ${d.realm}, which is not HTTPS; refusing to send them in clear (list ${realm?.host ?? 'that host'} in insecure-registries only for a test registry)`);
    }
    case 'credentials':
      return user(`${error.message}`);
    case 'unsupported-auth':
      return user(`${error.message}; use a registry with Basic or Bearer token auth`);
    case 'auth-protocol':
      return external(`${error.message}; check the registry's auth configuration`);
    case 'digest-mismatch':
      return external(`${error.message}; the registry, or something between it and the runner, altered the content, so it is not used`);
    case 'too-large':
      return external(`${error.message}; the rest was refused, so that a registry or a proxy cannot fill the runner's disk or memory`);
    case 'malformed':
      return external(`${error.message}; check the reference and the registry`);
    case 'foreign-host':
      return external(`${error.message}; the registry's storage must accept requests without them (pre-signed URLs)`);
    case 'missing':
      return user(`${registry}/${d.repository} does not hold the manifest ${d.digest}; publish it first (mode: package with the same tags), so that no tag points at an incomplete index`);
    case 'conflict':
      return external(`${error.message}; another publisher may be writing the same tag, so check the registry and run again`);
    case 'cancelled':
      return external('The run was cancelled');
    case 'status':
      if (d.artifactType && d.status !== undefined && d.status >= 400 && d.status < 500) {
        return user(`${error.message}; it is an OCI 1.1 artifact (${d.artifactType}, the SBOM sbom: true attaches), which this registry does not store: set sbom: false for it, or publish to a registry that stores OCI artifacts`);
      }
      if (d.status === 404 && /does not exist$/.test(error.message)) return user(`${error.message}; check the reference, or publish it first`);
      return external(`${error.message}; check the registry's logs or try again`);
  }
}

/** File-system failures by code: what happened to which file, whose it is to fix, and how. */
const IO_ERRORS: Record<string, {what: string; kind: 'user' | 'external'; fix: string}> = ioErrors as Record<string, {what: string; kind: 'user' | 'external'; fix: string}>;

const READS = new Set(['open', 'read', 'readdir', 'scandir', 'lstat', 'stat', 'readlink', 'access', 'realpath']);

export function describeIoError(error: unknown): FailureReport | undefined {
  const e = error as NodeJS.ErrnoException & {dest?: string};
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return undefined;
  const known = IO_ERRORS[e.code];
  if (!known || (!e.path && !e.syscall)) return undefined;
  const verb = e.syscall && READS.has(e.syscall) ? 'read' : 'write';
  const where = e.path ? `${verb} ${e.path}` : `${verb} a file (${e.syscall})`;
  return {sentence: sentence(`Could not ${where}: ${known.what} (${e.code}); ${known.fix}`), kind: known.kind};
}
