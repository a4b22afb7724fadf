/**
 * Typed failures of the registry client. Callers decide by `reason`, `status` and `codes`, never
 * by message text; the messages are neutral sentences for logs (the action's own wording, which
 * names its inputs, is added by the layer that reports errors to the user).
 */

/** An entry of the distribution spec's error body: `{"errors":[{"code","message","detail"}]}`. */
export interface DistributionError {
  code: string;
  message: string;
}

export type RegistryFailure =
  /** An HTTP status the operation does not accept (see `status` and `codes`). */
  | 'status'
  /** 401 after a fresh authentication: the credentials were refused, or none were given. */
  | 'unauthorized'
  /** 403, DENIED or insufficient_scope: authenticated, but not allowed. */
  | 'denied'
  /** No usable response after the retries (see `transport` and `cause`). */
  | 'unreachable'
  /** The certificate is not trusted, or the server does not speak TLS. */
  | 'tls'
  /** The registry would have the credentials sent over plain HTTP (see `realm`). */
  | 'insecure-realm'
  /** The registry's auth challenge or token service is broken (bad realm, no token, not JSON). */
  | 'auth-protocol'
  /** The token service refused the credentials (401/403) or failed. */
  | 'token-service'
  /** An authentication scheme other than Basic or Bearer. */
  | 'unsupported-auth'
  /** Content whose bytes do not match the digest it was asked for. */
  | 'digest-mismatch'
  /** A response or blob larger than allowed (a blob larger than its descriptor says). */
  | 'too-large'
  /** A manifest, config or error body that is not what the spec says (not JSON, wrong type). */
  | 'malformed'
  /** A storage host a redirect or upload location points to refused the request. */
  | 'foreign-host'
  /** The docker config or a credential helper failed. */
  | 'credentials'
  /** A manifest an index names is not in the repository, so the index cannot be tagged there. */
  | 'missing'
  /** A tag reads back as something other than what was just written (another writer). */
  | 'conflict'
  /** The request was cancelled (the job is being cancelled). */
  | 'cancelled';

export interface RegistryErrorDetails {
  registry: string;
  repository?: string;
  /** What the request needed: read or write the repository. */
  action?: 'pull' | 'push';
  status?: number;
  codes?: DistributionError[];
  method?: string;
  /** The request URL without credentials, query or fragment. */
  url?: string;
  /** Attempts made (retries included), for failures after retries. */
  attempts?: number;
  /** The transport's code (ECONNREFUSED, ETIMEDOUT, DEPTH_ZERO_SELF_SIGNED_CERT, ...). */
  transport?: string;
  /** For timeouts: the time limit of each attempt. */
  timeoutMs?: number;
  /** How the client authenticated: no credentials, Basic (with the username), or an identity token. */
  auth?: {kind: 'anonymous'} | {kind: 'basic'; username: string; source: string} | {kind: 'identity-token'; source: string};
  /** The token server's answer said insufficient_scope. */
  insufficientScope?: boolean;
  /** A token realm, for insecure-realm and token-service failures. */
  realm?: string;
  /** The content concerned (a missing manifest, a tag's expected digest). */
  digest?: string;
  /** A refused manifest was an OCI 1.1 artifact of this type (an SBOM), which older registries do not store. */
  artifactType?: string;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly reason: RegistryFailure;
  readonly details: RegistryErrorDetails;

  constructor(reason: RegistryFailure, message: string, details: RegistryErrorDetails, options: {cause?: unknown} = {}) {
    super(message, {cause: options.cause});
    this.reason = reason;
    this.details = {codes: [], ...details};
  }

  get registry(): string {
    return this.details.registry;
  }
  get status(): number | undefined {
    return this.details.status;
  }
  get codes(): DistributionError[] {
    return this.details.codes ?? [];
  }
  hasCode(code: string): boolean {
    return this.codes.some(c => c.code === code);
  }
}

/** Parses a distribution error body; registries that answer something else give none. */
export function distributionErrors(body: Buffer): DistributionError[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {errors?: {code?: unknown; message?: unknown}[]};
    if (!Array.isArray(parsed.errors)) return [];
    const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
    return parsed.errors.slice(0, 20).map(e => ({code: text(e?.code).slice(0, 100), message: text(e?.message).slice(0, 2000)}));
  } catch {
    return [];
  }
}

/** `DENIED requested access to the resource is denied; ...`: the registry's own words, for messages. */
export function describeCodes(codes: DistributionError[]): string {
  return codes.map(c => `${c.code} ${c.message}`.trim()).join('; ');
}
