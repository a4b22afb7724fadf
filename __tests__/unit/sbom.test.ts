/**
 * The SBOM modules in-process: Go build information read from real binaries built here for
 * amd64 and arm64 (a replaced module included), the CycloneDX document checked with the
 * library's own strict validator, what layers ship read from real tar layers, and the referrers
 * tag kept on a real registry (Debian's docker-registry, which has no referrers API) and, through
 * a front answering the API, left alone.
 */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {Spec, Validation} from '@cyclonedx/cyclonedx-library';
import {PackageURL} from 'packageurl-js';
import * as tar from 'tar';
import {Connections} from '../../src/http/client.js';
import {canonicalJson, sha256Digest} from '../../src/oci/digest.js';
import {artifactManifest, EMPTY_DESCRIPTOR, referrersTag} from '../../src/oci/artifact.js';
import {BlobStore} from '../../src/oci/store.js';
import {MediaType, type Descriptor} from '../../src/oci/types.js';
import {parsePlatform} from '../../src/platform/platform.js';
import {RegistryClient} from '../../src/registry/client.js';
import {RegistryError} from '../../src/registry/errors.js';
import {getManifest, putManifest} from '../../src/registry/manifests.js';
import {parseReference} from '../../src/registry/reference.js';
import {addToReferrersTag, hasReferrersApi} from '../../src/registry/referrers.js';
import {publish} from '../../src/registry/write.js';
import {describeFailure} from '../../src/report/failure.js';
import {sbomFileName} from '../../src/sbom/attach.js';
import {readShippedModules} from '../../src/sbom/contents.js';
import {GoBuildInfoScanner, parseModInfo, readGoBuildInfo, type GoBuildInfo} from '../../src/sbom/go-buildinfo.js';
import {buildSbom, CYCLONEDX_JSON, imagePurl, type SbomRequest} from '../../src/sbom/sbom.js';
import {tempDir} from '../helpers/fixtures.js';
import {startFront} from '../helpers/hostile.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

/** A Go program whose go.mod requires example.com/greet and replaces it with a local folder. */
async function goProgram(): Promise<string> {
  const dir = await tempDir('sbom-go-');
  const file = async (rel: string, text: string): Promise<void> => {
    await mkdir(path.dirname(path.join(dir, rel)), {recursive: true});
    await writeFile(path.join(dir, rel), text);
  };
  await file('go.mod', 'module example.com/prog\n\ngo 1.19\n\nrequire example.com/greet v1.2.0\n\nreplace example.com/greet => ./greet\n');
  await file('greet/go.mod', 'module example.com/greet\n\ngo 1.19\n');
  await file('greet/greet.go', 'package greet\n\nfunc Hello() string { return "hello" }\n');
  await file('cmd/run/main.go', 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n');
  return dir;
}

function goBuild(dir: string, arch: string): string {
  const out = path.join(dir, `run-${arch}`);
  const env = {...process.env, GOOS: 'linux', GOARCH: arch, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOPROXY: 'off'};
  execFileSync('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', out, './cmd/run'], {cwd: dir, env, stdio: 'pipe'});
  return out;
}

describe('sbom/go-buildinfo', () => {
  const built: Record<string, Buffer> = {};
  before(async () => {
    const dir = await goProgram();
    for (const arch of ['amd64', 'arm64']) built[arch] = await readFile(goBuild(dir, arch));
  });

  for (const arch of ['amd64', 'arm64']) {
    it(`reads the main package, main module, replaced dependency and settings of a stripped ${arch} binary`, () => {
      const info = readGoBuildInfo(built[arch]) as GoBuildInfo;
      assert.ok(info, 'build information found');
      const goVersion = execFileSync('go', ['env', 'GOVERSION'], {encoding: 'utf8'}).trim();
      assert.equal(info.goVersion, goVersion);
      assert.equal(info.path, 'example.com/prog/cmd/run');
      assert.deepEqual(info.main, {path: 'example.com/prog', version: '(devel)'});
      assert.deepEqual(info.deps, [{path: 'example.com/greet', version: 'v1.2.0', replacedBy: {path: './greet', version: '(devel)'}}]);
      assert.equal(info.settings.GOARCH, arch);
      assert.equal(info.settings.GOOS, 'linux');
      assert.equal(info.settings.CGO_ENABLED, '0');
    });

    it(`reads of the ${arch} binary what \`go version -m\` reads`, async () => {
      const dir = await tempDir('sbom-go-bin-');
      await writeFile(path.join(dir, 'run'), built[arch], {mode: 0o755});
      const [first, ...lines] = execFileSync('go', ['version', '-m', path.join(dir, 'run')], {encoding: 'utf8'})
        .trimEnd()
        .split('\n');
      const info = readGoBuildInfo(built[arch]);
      assert.equal(info?.goVersion, first.split(': ')[1]);
      assert.deepEqual(info, {goVersion: info?.goVersion, ...parseModInfo(lines.map(l => l.replace(/^\t/, '')).join('\n'))});
    });
  }

  it('reads the same from a stream in chunks of any size, a magic split across chunks or a decoy before it included', () => {
    const whole = readGoBuildInfo(built.arm64);
    // 7 bytes: every magic (14 bytes) spans three chunks.
    for (const size of [1 << 16, 4099, 7]) {
      const scanner = new GoBuildInfoScanner();
      for (let at = 0; at < built.arm64.length; at += size) scanner.write(built.arm64.subarray(at, at + size));
      assert.deepEqual(scanner.result(), whole, `chunks of ${size} bytes`);
    }
    // A string constant equal to the magic (as in a program using debug/buildinfo), aligned, before the real one.
    const decoy = Buffer.alloc(64);
    Buffer.from('\xff Go buildinf:', 'latin1').copy(decoy, 16);
    decoy[16 + 15] = 0x02;
    decoy.fill(0xff, 16 + 32);
    const scanner = new GoBuildInfoScanner();
    scanner.write(decoy);
    scanner.write(built.arm64);
    assert.deepEqual(scanner.result(), whole);
    const none = new GoBuildInfoScanner();
    none.write(decoy);
    assert.equal(none.result(), undefined);
  });

  it('has nothing to say about an ELF that is not Go, or bytes that are not ELF', async () => {
    assert.equal(readGoBuildInfo(await readFile(process.execPath)), undefined);
    assert.equal(readGoBuildInfo(Buffer.from('#!/bin/sh\necho hi\n')), undefined);
    assert.equal(readGoBuildInfo(Buffer.alloc(0)), undefined);
  });

  it('reads `go version -m` lines: sums, replacements with sums, settings with = in their value', () => {
    const info = parseModInfo(
      [
        'path\tgithub.com/acme/bp/cmd/run',
        'mod\tgithub.com/acme/bp\tv1.0.0\th1:AAAA',
        'dep\tgithub.com/BurntSushi/toml\tv1.4.0\th1:BBBB',
        'dep\tgolang.org/x/sys\tv0.1.0',
        '=>\tgithub.com/fork/sys\tv0.1.1\th1:CCCC',
        'build\t-ldflags=-s -w -X main.v=1',
        'build\tGOARCH=arm64',
        ''
      ].join('\n')
    );
    assert.equal(info.path, 'github.com/acme/bp/cmd/run');
    assert.deepEqual(info.main, {path: 'github.com/acme/bp', version: 'v1.0.0', sum: 'h1:AAAA'});
    assert.deepEqual(info.deps, [
      {path: 'github.com/BurntSushi/toml', version: 'v1.4.0', sum: 'h1:BBBB'},
      {path: 'golang.org/x/sys', version: 'v0.1.0', replacedBy: {path: 'github.com/fork/sys', version: 'v0.1.1', sum: 'h1:CCCC'}}
    ]);
    assert.deepEqual(info.settings, {'-ldflags': '-s -w -X main.v=1', GOARCH: 'arm64'});
  });
});

const manifest: Descriptor = {mediaType: MediaType.ImageManifest, digest: sha256Digest(Buffer.from('platform manifest')), size: 17};

function request(overrides: Partial<SbomRequest> = {}): SbomRequest {
  const sum = Buffer.alloc(32, 7).toString('base64');
  return {
    id: 'acme/Node-Engine',
    name: 'Node Engine',
    version: '1.2.3',
    homepage: 'https://example.com/node',
    licenses: ['Apache-2.0'],
    platform: parsePlatform('linux/arm64', 'test'),
    manifest,
    modules: [
      {
        kind: 'buildpack',
        escapedId: 'acme_node-engine',
        version: '1.2.3',
        id: 'acme/node-engine',
        dependencies: [
          {
            index: 0,
            id: 'node',
            name: 'Node.js',
            version: '22.2.0',
            arch: 'arm64',
            os: 'linux',
            uri: 'https://nodejs.org/node-arm64.tar.xz',
            sha256: 'a'.repeat(64),
            purl: 'pkg:generic/node@22.2.0?arch=arm64',
            cpes: ['cpe:2.3:a:nodejs:node.js:22.2.0:*:*:*:*:*:*:*', 'cpe:2.3:a:nodejs:nodejs:22.2.0:*:*:*:*:*:*:*'],
            licenses: ['MIT OR Apache-2.0'],
            source: 'https://nodejs.org/node-src.tar.xz'
          },
          {index: 1, id: 'certs', version: '2026.1', licenses: ['MPL-2.0', 'Some Custom License']}
        ],
        binaries: [
          {
            path: '/cnb/buildpacks/acme_node-engine/1.2.3/bin/run',
            sha256: 'b'.repeat(64),
            size: 1234,
            go: {goVersion: 'go1.22.3', path: 'example.com/bp/cmd/run', main: {path: 'example.com/bp', version: '(devel)'}, deps: [{path: 'github.com/BurntSushi/toml', version: 'v1.4.0', sum: `h1:${sum}`}], settings: {}}
          }
        ]
      }
    ],
    ...overrides
  };
}

interface Cdx {
  serialNumber: string;
  metadata: {timestamp?: string; component: {purl: string; licenses: unknown[]}};
  components: {name: string; components: {name: string; purl?: string; cpe?: string; licenses?: unknown[]; hashes?: {alg: string; content: string}[]; components?: {name: string; purl: string; hashes?: {content: string}[]}[]}[]}[];
}

describe('sbom/sbom', () => {
  const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

  it('writes a document the CycloneDX library validates strictly for 1.6', async () => {
    assert.equal(await validator.validate(buildSbom(request()).toString('utf8')), null);
  });

  it('gives the same bytes for the same request; a serial that follows the content; a timestamp only from SOURCE_DATE_EPOCH', () => {
    const a = buildSbom(request());
    assert.deepEqual(buildSbom(request()), a);
    const doc = JSON.parse(a.toString('utf8')) as Cdx;
    assert.match(doc.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(doc.metadata.timestamp, undefined);
    const other = JSON.parse(buildSbom(request({version: '1.2.4'})).toString('utf8')) as Cdx;
    assert.notEqual(other.serialNumber, doc.serialNumber);
    const dated = JSON.parse(buildSbom(request({created: new Date(1_700_000_000_000)})).toString('utf8')) as Cdx;
    assert.equal(dated.metadata.timestamp, '2023-11-14T22:13:20.000Z');
  });

  it('lists dependencies with purl, CPE and hashes, an expression license as one expression, and Go modules as golang purls with their sums', () => {
    const doc = JSON.parse(buildSbom(request()).toString('utf8')) as Cdx;
    const [module] = doc.components;
    const node = module.components.find(c => c.name === 'Node.js');
    assert.ok(node);
    assert.equal(node.purl, 'pkg:generic/node@22.2.0?arch=arm64');
    assert.equal(node.cpe, 'cpe:2.3:a:nodejs:node.js:22.2.0:*:*:*:*:*:*:*');
    assert.deepEqual(node.licenses, [{expression: 'MIT OR Apache-2.0'}]);
    assert.deepEqual(node.hashes, [{alg: 'SHA-256', content: 'a'.repeat(64)}]);
    const certs = module.components.find(c => c.name === 'certs');
    assert.deepEqual(certs?.licenses, [{license: {name: 'Some Custom License'}}, {license: {id: 'MPL-2.0'}}]);
    const binary = module.components.find(c => c.name.endsWith('/bin/run'));
    const toml = binary?.components?.find(c => c.name === 'github.com/BurntSushi/toml');
    assert.equal(toml?.purl, 'pkg:golang/github.com/BurntSushi/toml@v1.4.0');
    assert.deepEqual(toml?.hashes?.[0].content, '07'.repeat(32));
    assert.equal(binary?.components?.find(c => c.name === 'example.com/bp')?.purl, 'pkg:golang/example.com/bp');
  });

  it('keeps a malformed CPE or purl as a property, says so once, and still validates', async () => {
    const warnings: string[] = [];
    const [module] = request().modules;
    const bad = {index: 2, id: 'jq', version: '1.7', cpes: ['jq 1.7', 'cpe:2.3:a:jqlang:jq:1.7:*:*:*:*:*:*:*'], purl: 'jq@1.7'};
    const bytes = buildSbom(request({modules: [{...module, dependencies: [...module.dependencies, bad]}], warn: m => warnings.push(m)}));
    assert.equal(await validator.validate(bytes.toString('utf8')), null);
    assert.deepEqual(warnings, [
      'acme/node-engine 1.2.3: dependency jq 1.7 has a CPE that is not a CPE 2.2 or 2.3 name, kept in the SBOM as a property only: "jq 1.7".',
      'acme/node-engine 1.2.3: dependency jq 1.7 has a purl that does not parse as a package URL, kept in the SBOM as a property only: "jq@1.7".'
    ]);
    const jq = (JSON.parse(bytes.toString('utf8')) as Cdx).components[0].components.find(c => c.name === 'jq') as unknown as {cpe?: string; purl?: string; properties: {name: string; value: string}[]};
    assert.equal(jq.cpe, 'cpe:2.3:a:jqlang:jq:1.7:*:*:*:*:*:*:*');
    assert.equal(jq.purl, undefined);
    assert.deepEqual(
      jq.properties.filter(p => p.name.includes('invalid')),
      [
        {name: 'multiarch-buildpack-action:invalid-cpe', value: 'jq 1.7'},
        {name: 'multiarch-buildpack-action:invalid-purl', value: 'jq@1.7'}
      ]
    );
  });

  it('names the image pkg:oci by its manifest digest and platform, with the repository where it is published', () => {
    const published = PackageURL.fromString(imagePurl(request({repository: 'ghcr.io/acme/node-engine'})));
    assert.deepEqual([published.type, published.name, published.version, {...published.qualifiers}], ['oci', 'node-engine', manifest.digest, {arch: 'arm64', os: 'linux', repository_url: 'ghcr.io/acme/node-engine'}]);
    const local = PackageURL.fromString(imagePurl(request({platform: parsePlatform('linux/arm/v7', 'test')})));
    assert.deepEqual([local.name, local.version, {...local.qualifiers}], ['node-engine', manifest.digest, {arch: 'arm', os: 'linux', variant: 'v7'}]);
  });

  it('names SBOM files after the escaped id, the version and the platform', () => {
    assert.equal(sbomFileName('acme/node-engine', '1.2.3', {platform: parsePlatform('linux/arm/v7', 'test')}), 'acme_node-engine-1.2.3-linux-arm-v7.sbom.cdx.json');
    assert.equal(sbomFileName('acme/node-engine', '1.2.3', {platform: parsePlatform('linux/amd64', 'test')}), 'acme_node-engine-1.2.3-linux-amd64.sbom.cdx.json');
  });
});

describe('sbom/contents', () => {
  it('reads each module of every layer (a composite has several), its descriptor, dependencies and ELF binaries', async () => {
    const dir = await goProgram();
    const binary = goBuild(dir, 'arm64');
    const root = await tempDir('sbom-layers-');
    const store = new BlobStore(await tempDir('sbom-store-'));
    const layers: Descriptor[] = [];
    const modules = [
      {id: 'acme/a', escaped: 'acme_a', deps: '[[metadata.dependencies]]\nid = "jre"\nversion = "21.0.1"\npurl = "pkg:generic/jre@21.0.1"\n'},
      {id: 'acme/b', escaped: 'acme_b', deps: ''}
    ];
    for (const m of modules) {
      const layer = path.join(root, m.escaped);
      const bin = path.join(layer, 'cnb', 'buildpacks', m.escaped, '1.0.0', 'bin');
      await mkdir(bin, {recursive: true});
      await writeFile(path.join(bin, '..', 'buildpack.toml'), `api = "0.10"\n[buildpack]\nid = "${m.id}"\nversion = "1.0.0"\nname = "${m.id} name"\n[metadata]\n${m.deps}`);
      await copyFile(binary, path.join(bin, 'run'));
      await writeFile(path.join(bin, 'detect'), '#!/bin/sh\nexit 0\n');
      const bytes = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        tar
          .create({cwd: layer, gzip: true, portable: true}, ['cnb'])
          .on('data', (c: Buffer) => chunks.push(c))
          .on('end', () => resolve(Buffer.concat(chunks)))
          .on('error', reject);
      });
      layers.push(await store.writeBytes(MediaType.Layer, bytes));
    }
    const shipped = await readShippedModules(store, layers);
    assert.deepEqual(
      shipped.map(m => [m.kind, m.escapedId, m.id, m.name, m.version]),
      [
        ['buildpack', 'acme_a', 'acme/a', 'acme/a name', '1.0.0'],
        ['buildpack', 'acme_b', 'acme/b', 'acme/b name', '1.0.0']
      ]
    );
    assert.deepEqual(
      shipped[0].dependencies.map(d => [d.id, d.version, d.purl]),
      [['jre', '21.0.1', 'pkg:generic/jre@21.0.1']]
    );
    assert.deepEqual(shipped[1].dependencies, []);
    const expected = sha256Digest(await readFile(binary)).slice('sha256:'.length);
    for (const m of shipped) {
      assert.equal(m.binaries.length, 1, 'the shell script is not a binary');
      assert.equal(m.binaries[0].path, `/cnb/buildpacks/${m.escapedId}/1.0.0/bin/run`);
      assert.equal(m.binaries[0].sha256, expected);
      assert.equal(m.binaries[0].go?.settings.GOARCH, 'arm64');
      assert.equal(m.binaries[0].go?.deps[0].path, 'example.com/greet');
    }
  });
});

describe('oci/artifact', () => {
  it('is an image manifest with an artifactType, the empty config, the document as its layer, and the subject', () => {
    const document: Descriptor = {mediaType: CYCLONEDX_JSON, digest: sha256Digest(Buffer.from('{}\n')), size: 3};
    const m = artifactManifest(CYCLONEDX_JSON, document, {...manifest, annotations: {a: 'b'}}, 'x.sbom.cdx.json');
    assert.deepEqual(m, {
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: CYCLONEDX_JSON,
      config: {mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2},
      layers: [{...document, annotations: {'org.opencontainers.image.title': 'x.sbom.cdx.json'}}],
      subject: manifest
    });
    assert.equal(EMPTY_DESCRIPTOR.size, 2);
    assert.equal(referrersTag(manifest.digest), manifest.digest.replace('sha256:', 'sha256-'));
  });
});

describe('registry/referrers', () => {
  let registry: TestRegistry;
  const direct = new Connections({httpProxy: '', httpsProxy: '', noProxy: ''});
  const clientOf = (host: string): RegistryClient => new RegistryClient({registry: host, insecureRegistries: [host], connections: direct, retry: {attempts: 3, baseDelayMs: 10, maxDelayMs: 20, budgetMs: 10_000}});
  before(async () => {
    registry = await startRegistry({});
  });
  after(async () => registry?.stop());

  /** A subject image and an SBOM artifact about it, in a store. */
  async function content(seed: string): Promise<{store: BlobStore; subject: {descriptor: Descriptor; bytes: Buffer; blobs: Descriptor[]}; sbom: {descriptor: Descriptor; bytes: Buffer; blobs: Descriptor[]; subject: Descriptor}}> {
    const store = new BlobStore(await tempDir('referrers-store-'));
    const config = await store.writeBytes(MediaType.ImageConfig, Buffer.from(JSON.stringify({seed})));
    const subject = await store.writeJson(MediaType.ImageManifest, {schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers: []});
    const empty = await store.writeBytes(MediaType.Empty, Buffer.from('{}'));
    const doc = await store.writeBytes(CYCLONEDX_JSON, Buffer.from(`{"seed":"${seed}"}`));
    const bytes = canonicalJson(artifactManifest(CYCLONEDX_JSON, doc, subject.descriptor, 'sbom.json'));
    const descriptor = {mediaType: MediaType.ImageManifest, digest: sha256Digest(bytes), size: bytes.length, artifactType: CYCLONEDX_JSON};
    return {store, subject: {...subject, blobs: [config]}, sbom: {descriptor, bytes, blobs: [empty, doc], subject: subject.descriptor}};
  }

  it('sees no referrers API on distribution 2.x, and keeps the referrers tag: once per referrer, other entries kept', async () => {
    const client = clientOf(registry.host);
    const repository = 'attach/tag';
    const {store, subject, sbom} = await content('a');
    // Another tool's referrer is already there, and listed under the tag.
    const other = await content('other');
    const signature = {...other.sbom, descriptor: {...other.sbom.descriptor, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json'}};
    for (const d of [...other.sbom.blobs]) await store.writeBytes(d.mediaType, await readFile(other.store.blobPath(d.digest)));
    await publish({store, manifests: [subject, sbom, signature]}, [parseReference(`${registry.host}/${repository}:unused`, 'test')], () => client);
    assert.equal(await hasReferrersApi(client, repository, subject.descriptor.digest), false);
    const foreign = signature.descriptor;
    const tag = referrersTag(subject.descriptor.digest);
    await putManifest(client, repository, tag, MediaType.ImageIndex, canonicalJson({schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [foreign]}));
    assert.equal(await addToReferrersTag(client, repository, subject.descriptor.digest, sbom.descriptor), true);
    const puts = (): number => registry.requests().filter(r => r.method === 'PUT' && r.path.endsWith(`/manifests/${tag}`)).length;
    const before = puts();
    assert.equal(await addToReferrersTag(client, repository, subject.descriptor.digest, sbom.descriptor), false);
    assert.equal(puts(), before, 'nothing written when the referrer is listed');
    const index = JSON.parse(((await getManifest(client, repository, tag, [MediaType.ImageIndex])) as Buffer).toString('utf8')) as {manifests: Descriptor[]};
    assert.deepEqual(index.manifests, [foreign, sbom.descriptor]);
  });

  it('refuses to rewrite a referrers tag that holds something other than an index', async () => {
    const client = clientOf(registry.host);
    const repository = 'attach/malformed';
    const {store, subject, sbom} = await content('b');
    await publish({store, manifests: [subject, sbom]}, [parseReference(`${registry.host}/${repository}:unused`, 'test')], () => client);
    await putManifest(client, repository, referrersTag(subject.descriptor.digest), MediaType.ImageManifest, subject.bytes);
    await assert.rejects(addToReferrersTag(client, repository, subject.descriptor.digest, sbom.descriptor), (e: unknown) => e instanceof RegistryError && e.reason === 'malformed');
  });

  it('a registry that refuses OCI artifacts fails the publish before any tag, with a sentence that says so', async () => {
    // As registries before OCI 1.1 answer a manifest with an unknown config type.
    const front = await startFront(`http://${registry.host}`, req =>
      req.method === 'PUT' && req.body.includes('"artifactType"') ? {status: 400, headers: {'content-type': 'application/json'}, body: JSON.stringify({errors: [{code: 'MANIFEST_INVALID', message: 'manifest invalid'}]})} : undefined
    );
    try {
      const client = clientOf(front.host);
      const repository = 'attach/old';
      const {store, subject, sbom} = await content('d');
      const index = await store.writeJson(MediaType.ImageIndex, {schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [subject.descriptor]});
      const error = await publish({store, manifests: [subject], referrers: [sbom], index}, [parseReference(`${front.host}/${repository}:1.0.0`, 'test')], () => client).catch((e: unknown) => e);
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.details.artifactType, CYCLONEDX_JSON);
      assert.equal(error.status, 400);
      const report = describeFailure(error);
      assert.equal(report.kind, 'user');
      assert.match(report.sentence, /it is an OCI 1\.1 artifact \(application\/vnd\.cyclonedx\+json, the SBOM sbom: true attaches\), which this registry does not store: set sbom: false for it/);
      assert.equal(await getManifest(client, repository, '1.0.0', [MediaType.ImageIndex]), undefined, 'no tag written');
    } finally {
      await front.stop();
    }
  });

  it('publish writes no referrers tag where the registry answers the referrers API', async () => {
    const front = await startFront(`http://${registry.host}`, req =>
      /^\/v2\/.+\/referrers\/sha256:/.test(req.url) ? {status: 200, headers: {'content-type': MediaType.ImageIndex}, body: JSON.stringify({schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: []})} : undefined
    );
    try {
      const client = clientOf(front.host);
      const repository = 'attach/api';
      const {store, subject, sbom} = await content('c');
      const result = await publish({store, manifests: [subject], referrers: [sbom]}, [parseReference(`${front.host}/${repository}:unused`, 'test')], () => client);
      assert.equal(result.stats.referrerTags, 0);
      assert.ok(
        front.seen.some(r => r.method === 'PUT' && r.url.endsWith(`/manifests/${sbom.descriptor.digest}`)),
        'the artifact is pushed by digest'
      );
      assert.equal(await getManifest(client, repository, referrersTag(subject.descriptor.digest), [MediaType.ImageIndex]), undefined);
      // Without the API, the same publish lists it under the tag, and a re-run writes nothing.
      const plain = clientOf(registry.host);
      const ref = parseReference(`${registry.host}/${repository}:unused`, 'test');
      assert.equal((await publish({store, manifests: [subject], referrers: [sbom]}, [ref], () => plain)).stats.referrerTags, 1);
      const again = await publish({store, manifests: [subject], referrers: [sbom]}, [ref], () => plain);
      assert.deepEqual([again.stats.referrerTags, again.stats.uploaded], [0, 0]);
    } finally {
      await front.stop();
    }
  });
});
