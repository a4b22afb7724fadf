// The library's parts one by one: its root also loads the validators, which find their schema
// files through __dirname, which an ES module bundle has not.
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as SPDX from '@cyclonedx/cyclonedx-library/SPDX';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import * as Types from '@cyclonedx/cyclonedx-library/Types';
import {PackageURL} from 'packageurl-js';
import {createHash} from 'node:crypto';
import type {Dependency} from '../buildpack/dependencies.js';
import type {Descriptor} from '../oci/types.js';
import {formatPlatform, type Platform} from '../platform/platform.js';
import type {GoModule} from './go-buildinfo.js';
import type {ShippedModule} from './contents.js';

/** The media type of a CycloneDX JSON document, and of the OCI artifact that carries one. */
export const CYCLONEDX_JSON = 'application/vnd.cyclonedx+json';

export interface SbomRequest {
  /** The buildpack (or extension) packaged: what the image is. */
  id: string;
  name?: string;
  version: string;
  homepage?: string;
  description?: string;
  licenses: string[];
  platform: Platform;
  /** The platform image's manifest, which the SBOM describes. */
  manifest: Descriptor;
  /** `ghcr.io/acme/bp`: where the image is published, for its purl. */
  repository?: string;
  /** What its layers ship (readShippedModules). */
  modules: ShippedModule[];
  /** SOURCE_DATE_EPOCH, when set: the only timestamp written. */
  created?: Date;
  /** Told of what buildpack.toml says that the SBOM cannot carry as written (a malformed CPE or purl). */
  warn?: (message: string) => void;
}

const PROPERTY = 'multiarch-buildpack-action';
/**
 * The build settings said of each Go binary: what it was built for and from which commit. Not
 * `-ldflags` and the like, whose `-X` values are the program's business.
 */
const GO_SETTINGS = ['GOOS', 'GOARCH', 'GOAMD64', 'GOARM', 'GOARM64', 'CGO_ENABLED', 'vcs', 'vcs.revision', 'vcs.time', 'vcs.modified'];

/**
 * The CycloneDX 1.6 SBOM of one platform image, through the CycloneDX library: the image as the
 * metadata component (purl pkg:oci with its manifest digest and arch); per shipped module, the
 * dependencies its buildpack.toml keeps for this platform (purl, CPE, licenses, SHA-256, where it
 * is downloaded from) and each ELF binary (a file component with its SHA-256) with the Go modules
 * linked into it. The same inputs give the same bytes: lists sorted, no timestamp but
 * SOURCE_DATE_EPOCH, and a serial number derived from the content.
 */
export function buildSbom(request: SbomRequest): Buffer {
  const bom = new Models.Bom();
  bom.metadata.timestamp = request.created;
  const image = new Models.Component(Enums.ComponentType.Container, request.name ?? request.id, {
    bomRef: 'image',
    version: request.version,
    description: request.description,
    purl: imagePurl(request),
    licenses: licenses(request.licenses)
  });
  image.properties.add(new Models.Property(`${PROPERTY}:buildpack-id`, request.id));
  image.properties.add(new Models.Property(`${PROPERTY}:platform`, formatPlatform(request.platform)));
  if (request.homepage) image.externalReferences.add(new Models.ExternalReference(request.homepage, Enums.ExternalReferenceType.Website));
  bom.metadata.component = image;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'multiarch-buildpack-action', {group: 'paketo'}));

  for (const module of request.modules) {
    const ref = `module:${module.kind}/${module.escapedId}@${module.version}`;
    const component = new Models.Component(Enums.ComponentType.Application, module.id ?? module.escapedId, {bomRef: ref, version: module.version, description: module.name});
    component.properties.add(new Models.Property(`${PROPERTY}:module-kind`, module.kind));
    image.dependencies.add(component.bomRef);
    for (const d of module.dependencies) {
      const dep = dependencyComponent(d, ref, module, request.warn);
      component.components.add(dep);
      component.dependencies.add(dep.bomRef);
    }
    for (const binary of module.binaries) {
      const file = new Models.Component(Enums.ComponentType.File, binary.path, {bomRef: `file:${binary.path}`});
      file.hashes.set(Enums.HashAlgorithm['SHA-256'], binary.sha256);
      file.properties.add(new Models.Property(`${PROPERTY}:size`, String(binary.size)));
      if (binary.go) {
        file.properties.add(new Models.Property(`${PROPERTY}:go-version`, binary.go.goVersion));
        if (binary.go.path) file.properties.add(new Models.Property(`${PROPERTY}:go-package`, binary.go.path));
        for (const key of GO_SETTINGS) {
          const value = binary.go.settings[key];
          if (value !== undefined) file.properties.add(new Models.Property(`${PROPERTY}:go-build:${key}`, value));
        }
        for (const [i, m] of [...(binary.go.main ? [binary.go.main] : []), ...binary.go.deps].entries()) {
          const go = goComponent(m, `${file.bomRef.value}#go:${m.path}`);
          if (i === 0 && binary.go.main) go.properties.add(new Models.Property(`${PROPERTY}:go-main-module`, 'true'));
          file.components.add(go);
          file.dependencies.add(go.bomRef);
        }
      }
      component.components.add(file);
      component.dependencies.add(file.bomRef);
    }
    bom.components.add(component);
  }

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const text = (): string => serializer.serialize(bom, {sortLists: true, space: 2});
  bom.serialNumber = serialOf(text());
  return Buffer.from(`${text()}\n`, 'utf8');
}

/** `pkg:oci/<name>@sha256:...?arch=arm64&repository_url=ghcr.io/acme/bp` (the purl spec's oci type). */
export function imagePurl(request: Pick<SbomRequest, 'id' | 'manifest' | 'platform' | 'repository'>): string {
  const name = request.repository ? (request.repository.split('/').pop() as string) : request.id.split('/').pop()?.toLowerCase() || 'buildpack';
  const qualifiers: Record<string, string> = {arch: request.platform.architecture, os: request.platform.os, ...(request.platform.variant ? {variant: request.platform.variant} : {})};
  if (request.repository) qualifiers.repository_url = request.repository;
  return new PackageURL('oci', undefined, name, request.manifest.digest, qualifiers, undefined).toString();
}

function dependencyComponent(d: Dependency, parent: string, module: ShippedModule, warn?: (message: string) => void): Models.Component {
  // What scanners match on must be well formed: a CPE the schema refuses, or a purl that does
  // not parse, is kept as a property (and said), not passed off as one.
  const where = `${module.id ?? module.escapedId} ${module.version}: dependency ${d.id}${d.version ? ` ${d.version}` : ''}`;
  const invalid: Models.Property[] = [];
  const cpes = (d.cpes ?? []).filter(cpe => {
    if (Types.isCPE(cpe)) return true;
    warn?.(`${where} has a CPE that is not a CPE 2.2 or 2.3 name, kept in the SBOM as a property only: ${JSON.stringify(cpe)}.`);
    invalid.push(new Models.Property(`${PROPERTY}:invalid-cpe`, cpe));
    return false;
  });
  let purl = d.purl;
  if (purl !== undefined && !isPurl(purl)) {
    warn?.(`${where} has a purl that does not parse as a package URL, kept in the SBOM as a property only: ${JSON.stringify(purl)}.`);
    invalid.push(new Models.Property(`${PROPERTY}:invalid-purl`, purl));
    purl = undefined;
  }
  const component = new Models.Component(Enums.ComponentType.Library, d.name ?? d.id, {
    bomRef: `${parent}#dependency:${d.id}@${d.version ?? ''}:${d.arch ?? 'any'}:${d.index}`,
    version: d.version,
    purl,
    cpe: cpes[0],
    licenses: licenses(d.licenses ?? [])
  });
  for (const p of invalid) component.properties.add(p);
  for (const more of d.morePurls ?? []) component.properties.add(new Models.Property(`${PROPERTY}:purl`, more));
  component.properties.add(new Models.Property(`${PROPERTY}:dependency-id`, d.id));
  for (const cpe of cpes.slice(1)) component.properties.add(new Models.Property(`${PROPERTY}:cpe`, cpe));
  if (d.os || d.arch) component.properties.add(new Models.Property(`${PROPERTY}:dependency-platform`, [d.os ?? '*', d.arch ?? '*'].join('/')));
  if (d.sha256) component.hashes.set(Enums.HashAlgorithm['SHA-256'], d.sha256);
  if (d.uri) component.externalReferences.add(new Models.ExternalReference(d.uri, Enums.ExternalReferenceType.Distribution));
  if (d.source) component.externalReferences.add(new Models.ExternalReference(d.source, Enums.ExternalReferenceType.SourceDistribution));
  return component;
}

function isPurl(text: string): boolean {
  try {
    PackageURL.fromString(text);
    return true;
  } catch {
    return false;
  }
}

function goComponent(m: GoModule, bomRef: string): Models.Component {
  const linked = m.replacedBy ?? m;
  const version = linked.version === '(devel)' ? undefined : linked.version;
  const [namespace, name] = splitGoPath(linked.path);
  const component = new Models.Component(Enums.ComponentType.Library, linked.path, {
    bomRef,
    version,
    purl: new PackageURL('golang', namespace, name, version, undefined, undefined).toString()
  });
  const sum = linked.sum?.startsWith('h1:') ? Buffer.from(linked.sum.slice(3), 'base64') : undefined;
  if (sum?.length === 32) component.hashes.set(Enums.HashAlgorithm['SHA-256'], sum.toString('hex'));
  if (m.replacedBy) component.properties.add(new Models.Property(`${PROPERTY}:go-replaces`, `${m.path}@${m.version}`));
  return component;
}

function splitGoPath(path: string): [string | undefined, string] {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? [undefined, path] : [path.slice(0, slash), path.slice(slash + 1)];
}

/** SPDX ids as such, expressions as expressions, anything else by name. */
function licenses(values: string[]): Models.LicenseRepository {
  const repository = new Models.LicenseRepository();
  const expressions = values.filter(v => /\s(AND|OR|WITH)\s/.test(v));
  if (expressions.length) {
    // CycloneDX allows one expression, and no other license beside it.
    repository.add(new Models.LicenseExpression(values.length === 1 ? values[0] : values.map(v => `(${v})`).join(' AND ')));
    return repository;
  }
  for (const v of values) repository.add(SPDX.isSupportedSpdxId(v) ? new Models.SpdxLicense(v) : new Models.NamedLicense(v));
  return repository;
}

/** A serial number derived from the document: the same SBOM, the same number (RFC 4122 form, version 5 bits). */
function serialOf(text: string): string {
  const h = createHash('sha256').update(text).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
