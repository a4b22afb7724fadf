/** A reference that is not one: `where` (the caller's words for its source) says where it came from. */
export class InvalidReferenceError extends Error {
  override name = 'InvalidReferenceError';
}

/** A parsed image reference, normalised as docker does (distribution/reference). */
export interface Reference {
  /** As users write it: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** `library/alpine`, `acme/my-bp`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
// Path components: lowercase alphanumerics separated by `.`, `_`, `__` or runs of `-`.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

/**
 * Parses `[host[:port]/]path[:tag][@digest]`. The first component is a host when it is
 * `localhost` or holds a `.` or `:`; otherwise the reference is on Docker Hub, where a single
 * component lives under `library/`. `where` names the input, for the error.
 */
export function parseReference(text: string, where: string): Reference {
  let raw = text.trim();
  // `user:password@host/...`: refused without repeating the password (a digest never holds "/").
  const userinfo = /^([^/@]*)@(.*\/.*)$/s.exec(raw);
  if (userinfo) {
    raw = `***@${userinfo[2]}`;
    throw new InvalidReferenceError(`${where} has "${raw}", which carries a user name or password before "@"; remove it from the reference and give the credentials through a login instead.`);
  }
  const fail = (why: string, fix: string): InvalidReferenceError => new InvalidReferenceError(`${where} has "${raw}", ${why}; ${fix}.`);
  if (!raw) throw fail('which is empty', 'write a full reference such as ghcr.io/acme/my-buildpack:1.2.3');
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw fail(`whose digest "${digest}" is not algorithm:hex`, 'write @sha256:<64 hex digits> or leave the digest out');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      const fix = tag.includes('+') ? `tags cannot hold "+" (semver build metadata), so write ${tag.replaceAll('+', '-')} instead` : 'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"';
      throw fail(`whose tag "${tag}" is not a valid tag`, fix);
    }
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && (parts[0] === 'localhost' || parts[0].includes('.') || parts[0].includes(':'))) {
    registry = parts.shift() as string;
    if (!HOST.test(registry)) throw fail(`whose registry "${registry}" is not a host name`, 'write host[:port]/repository:tag');
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository !== repository.toLowerCase()) {
    throw fail(`whose repository "${repository}" has capital letters, which registries refuse`, `write ${registry === DOCKER_HUB ? '' : `${registry}/`}${repository.toLowerCase()} (in workflows, lowercase \${{ github.repository_owner }})`);
  }
  if (!parts.every(p => COMPONENT.test(p))) {
    throw fail(`whose repository "${repository}" is not valid`, 'use lowercase letters, digits and single ".", "_" or "-" between them, separated by "/"');
  }
  if (repository.length > 255) throw fail('whose repository is longer than 255 characters', 'shorten it');
  return {registry, repository, ...(tag !== undefined ? {tag} : {}), ...(digest !== undefined ? {digest} : {})};
}

/** The host to speak HTTP to: Docker Hub's API lives at registry-1.docker.io. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** `ghcr.io/acme/bp`, `docker.io/library/alpine`. */
export function repositoryName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
