import {UserError} from '../util/errors.js';

/** An OCI platform, normalised: `variant` only where the architecture has one (arm). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

// Aliases users and tools write, mapped to OCI's names (containerd's platforms.Normalize).
const ARCH_ALIASES: Record<string, Platform> = {
  amd64: {os: 'linux', architecture: 'amd64'},
  x86_64: {os: 'linux', architecture: 'amd64'},
  'x86-64': {os: 'linux', architecture: 'amd64'},
  arm64: {os: 'linux', architecture: 'arm64'},
  aarch64: {os: 'linux', architecture: 'arm64'},
  arm: {os: 'linux', architecture: 'arm', variant: 'v7'},
  armhf: {os: 'linux', architecture: 'arm', variant: 'v7'},
  armel: {os: 'linux', architecture: 'arm', variant: 'v6'},
  '386': {os: 'linux', architecture: '386'},
  i386: {os: 'linux', architecture: '386'},
  i686: {os: 'linux', architecture: '386'},
  ppc64le: {os: 'linux', architecture: 'ppc64le'},
  s390x: {os: 'linux', architecture: 's390x'},
  riscv64: {os: 'linux', architecture: 'riscv64'}
};

const ARM_VARIANTS = ['v5', 'v6', 'v7'];

/** Architectures a buildpack can be built for; the order here is the order of index entries. */
export const KNOWN_ARCHITECTURES = ['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64'];

/**
 * Parses `arm64`, `linux/arm64`, `linux/arm/v7`, `aarch64`, `x86_64` and the like into a
 * normalised platform. `where` names the input or file the text came from, for the error.
 */
export function parsePlatform(text: string, where: string): Platform {
  const raw = text.trim();
  const parts = raw.toLowerCase().split('/');
  const unknown = (): UserError => new UserError(`${where} lists "${raw}", which is not a known architecture; use one of ${KNOWN_ARCHITECTURES.join(', ')} (optionally as linux/<arch>[/<variant>]).`);
  let os = 'linux';
  let archPart: string;
  let variant: string | undefined;
  if (parts.length === 1) {
    archPart = parts[0];
  } else if (parts.length === 2 || parts.length === 3) {
    [os, archPart, variant] = parts;
  } else {
    throw unknown();
  }
  if (os !== 'linux') {
    throw new UserError(`${where} lists "${raw}", but only linux platforms are supported; use linux/<arch>.`);
  }
  const base = ARCH_ALIASES[archPart];
  if (!base) throw unknown();
  const platform: Platform = {os, architecture: base.architecture};
  if (base.architecture === 'arm') {
    const v = variant ?? base.variant;
    if (!v || !ARM_VARIANTS.includes(v)) {
      throw new UserError(`${where} lists "${raw}", whose arm variant is not one of ${ARM_VARIANTS.join(', ')}; write linux/arm/v7 or linux/arm/v6.`);
    }
    platform.variant = v;
  } else if (variant !== undefined) {
    // arm64/v8 is the only variant spelled in the wild for the others; OCI omits it.
    if (!(base.architecture === 'arm64' && variant === 'v8')) {
      throw new UserError(`${where} lists "${raw}", but ${base.architecture} has no variant "${variant}"; write linux/${base.architecture}.`);
    }
  }
  return platform;
}

/** `linux/arm64`, `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** `linux-arm64`, `linux-arm-v7`: for file names. */
export function platformSlug(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('-');
}

export function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/** A fixed order for index entries and logs, whatever order the user wrote. */
export function comparePlatforms(a: Platform, b: Platform): number {
  const rank = (p: Platform): number => KNOWN_ARCHITECTURES.indexOf(p.architecture);
  return a.os.localeCompare(b.os, 'en') || rank(a) - rank(b) || (a.variant ?? '').localeCompare(b.variant ?? '', 'en');
}

/** Parses a list of platforms, rejecting duplicates after normalisation, sorted. */
export function parsePlatformList(items: string[], where: string): Platform[] {
  const platforms: Platform[] = [];
  for (const item of items) {
    const p = parsePlatform(item, where);
    const dup = platforms.find(q => samePlatform(p, q));
    if (dup) {
      throw new UserError(`${where} lists ${formatPlatform(p)} twice ("${item}" is the same platform as an earlier entry); remove one.`);
    }
    platforms.push(p);
  }
  return platforms.sort(comparePlatforms);
}

/** The Go toolchain's names for a platform (GOARM is the variant's digit). */
export function goEnvironment(p: Platform): Record<string, string> {
  const env: Record<string, string> = {GOOS: p.os, GOARCH: p.architecture};
  if (p.architecture === 'arm' && p.variant) env.GOARM = p.variant.slice(1);
  return env;
}
