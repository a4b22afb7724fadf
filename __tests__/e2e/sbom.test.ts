/**
 * SBOMs through the bundle: a buildpack with per-architecture dependencies and a Go program
 * linked with a vendored module, packaged with sbom: true and published to a real registry
 * (distribution 2.8, which has no referrers API). Each platform's SBOM passes the CycloneDX
 * library's strict validation for 1.6, lists what that platform ships and nothing of the other,
 * is the same bytes on every run, and is attached to its platform manifest through the
 * referrers tag; a re-run uploads nothing; mode publish of the layout attaches them too.
 */
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {Spec, Validation} from '@cyclonedx/cyclonedx-library';
import {PackageURL} from 'packageurl-js';
import {runAction, type ActionRun} from '../helpers/action.js';
import {execOk} from '../helpers/exec.js';
import {tempDir} from '../helpers/fixtures.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A Go buildpack in Paketo's layout whose cmd/run imports a vendored module, with dependencies per architecture. */
async function fixture(): Promise<string> {
  const dir = await tempDir('sbom-bp-');
  const file = async (rel: string, text: string): Promise<void> => {
    await mkdir(path.dirname(path.join(dir, rel)), {recursive: true});
    await writeFile(path.join(dir, rel), text);
  };
  await file('go.mod', 'module example.com/bp\n\ngo 1.19\n\nrequire example.com/greet v1.2.0\n');
  await file('vendor/modules.txt', '# example.com/greet v1.2.0\n## explicit\nexample.com/greet\n');
  await file('vendor/example.com/greet/greet.go', 'package greet\n\nfunc Hello() string { return "hello from greet" }\n');
  await file('cmd/run/main.go', 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\n\t"example.com/greet"\n)\n\nfunc main() {\n\tfmt.Println(greet.Hello())\n\tif len(os.Args) > 0 && os.Args[0] == "detect" {\n\t\tos.Exit(0)\n\t}\n}\n');
  const dep = (arch: string, version: string): string =>
    `\n[[metadata.dependencies]]\n  id = "node"\n  name = "Node Engine"\n  version = "${version}"\n  arch = "${arch}"\n  os = "linux"\n  uri = "https://nodejs.org/dist/v${version}/node-v${version}-linux-${arch === 'amd64' ? 'x64' : 'arm64'}.tar.xz"\n  checksum = "sha256:${sha256(arch + version)}"\n  purl = "pkg:generic/node@${version}?arch=${arch}"\n  cpes = ["cpe:2.3:a:nodejs:node.js:${version}:*:*:*:*:*:*:*", "cpe:2.3:a:nodejs:nodejs:${version}:*:*:*:*:*:*:*"]\n  licenses = ["MIT"]\n`;
  await file(
    'buildpack.toml',
    `api = "0.10"\n\n[buildpack]\n  id = "acme/sbom"\n  name = "SBOM Fixture"\n  version = "1.0.0"\n  homepage = "https://example.com/acme/sbom"\n\n  [[buildpack.licenses]]\n    type = "Apache-2.0"\n\n[metadata]\n${dep('amd64', '22.1.0')}${dep('arm64', '22.2.0')}\n[[metadata.dependencies]]\n  id = "ca-certificates"\n  version = "2026.1"\n  cpes = ["ca-certificates 2026.1"]\n  uri = "https://example.com/ca.tgz"\n  checksum = "sha256:${sha256('ca')}"\n  licenses = ["MPL-2.0"]\n${['amd64', 'arm64'].map(a => `\n[[metadata.dependencies]]\n  id = "jre"\n  name = "BellSoft Liberica JRE"\n  version = "21.0.5"\n  purls = ["pkg:generic/bellsoft-jre@21.0.5?arch=${a}", "pkg:maven/io.example/jre-${a}@21.0.5"]\n  cpes = ["cpe:2.3:a:oracle:jre:21.0.5:*:*:*:*:*:*:*"]\n  sha256 = "${sha256('jre' + a)}"\n  uri = "https://example.com/jre-21.0.5-linux-${a}.tar.gz"\n  stacks = ["*"]\n\n  [[metadata.dependencies.licenses]]\n    type = "GPL-2.0 WITH Classpath-exception-2.0"\n    uri = "https://openjdk.org/legal/gplv2+ce.html"\n`).join('')}\n[[targets]]\n  os = "linux"\n  arch = "amd64"\n\n[[targets]]\n  os = "linux"\n  arch = "arm64"\n`
  );
  return dir;
}

interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  cpe?: string;
  hashes?: {alg: string; content: string}[];
  components?: CdxComponent[];
  licenses?: {license?: {id?: string; name?: string}; expression?: string}[];
  properties?: {name: string; value: string}[];
}
interface Cdx {
  specVersion: string;
  serialNumber: string;
  metadata: {component: CdxComponent; timestamp?: string};
  components: CdxComponent[];
}

function flatten(components: CdxComponent[] = []): CdxComponent[] {
  return components.flatMap(c => [c, ...flatten(c.components)]);
}

describe('sbom: true', () => {
  let registry: TestRegistry;
  let bp: string;
  let first: ActionRun;
  let files: Record<string, string>;
  const repo = 'acme/sbom';
  before(async () => {
    registry = await startRegistry();
    bp = await fixture();
    first = await runAction({path: bp, sbom: 'true', output: path.join(await tempDir('sbom-out-'), 'out'), tags: `${registry.host}/${repo}:1.0.0`, 'insecure-registries': registry.host});
    assert.equal(first.code, 0, first.stdout + first.stderr);
    files = JSON.parse(first.outputs['sbom-files']) as Record<string, string>;
  });
  after(async () => registry?.stop());

  const sbomOf = async (platform: string): Promise<Cdx> => JSON.parse(await readFile(files[platform], 'utf8')) as Cdx;

  it('writes one SBOM per platform beside the layout, named after the .cnb', () => {
    assert.deepEqual(Object.keys(files).sort(), ['linux/amd64', 'linux/arm64']);
    assert.match(path.basename(files['linux/arm64']), /^acme_sbom-1\.0\.0-linux-arm64\.sbom\.cdx\.json$/);
    assert.match(first.summary, /SBOMs \(CycloneDX 1\.6\), attached to each platform manifest as an OCI referrer \(2 referrers tags written, the registry having no referrers API\)/);
    // Said once, not once per platform; the SBOMs still validate (below).
    assert.equal(first.stdout.split('\n').filter(l => l.startsWith('::warning::') && l.includes('dependency ca-certificates 2026.1 has a CPE that is not a CPE 2.2 or 2.3 name')).length, 1, first.stdout);
    assert.match(first.summary, /<code>acme&#95;sbom-1\.0\.0-linux-amd64\.sbom\.cdx\.json<\/code>/);
  });

  it('passes the CycloneDX library strict JSON validation for 1.6', async () => {
    const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
    for (const file of Object.values(files)) {
      const text = await readFile(file, 'utf8');
      assert.equal(await validator.validate(text), null, file);
      assert.equal((JSON.parse(text) as Cdx).specVersion, '1.6');
    }
  });

  it('describes the platform image by its manifest digest and lists only the dependencies that platform keeps', async () => {
    const manifests = JSON.parse(first.outputs.manifests) as {platform: {architecture: string}; digest: string}[];
    for (const [arch, version, other] of [
      ['amd64', '22.1.0', '22.2.0'],
      ['arm64', '22.2.0', '22.1.0']
    ]) {
      const sbom = await sbomOf(`linux/${arch}`);
      const digest = manifests.find(m => m.platform.architecture === arch)?.digest as string;
      // Read back with packageurl-js, the purl spec's own JavaScript implementation.
      const purl = PackageURL.fromString(sbom.metadata.component.purl as string);
      assert.deepEqual([purl.type, purl.name, purl.version, {...purl.qualifiers}], ['oci', 'sbom', digest, {arch, os: 'linux', repository_url: `${registry.host}/${repo}`}]);
      const all = flatten(sbom.components);
      const node = all.filter(c => c.name === 'Node Engine');
      assert.deepEqual(
        node.map(c => c.version),
        [version]
      );
      assert.equal(node[0].purl, `pkg:generic/node@${version}?arch=${arch}`);
      assert.equal(node[0].cpe, `cpe:2.3:a:nodejs:node.js:${version}:*:*:*:*:*:*:*`);
      assert.deepEqual(node[0].hashes, [{alg: 'SHA-256', content: sha256(arch + version)}]);
      assert.deepEqual(node[0].licenses, [{license: {id: 'MIT'}}]);
      assert.ok(!all.some(c => c.version === other), `no ${other} in the ${arch} SBOM`);
      assert.ok(
        all.some(c => c.name === 'ca-certificates'),
        'an arch-less dependency ships everywhere'
      );
      // libpak's layout: no arch, the architecture in the purl.
      const jre = all.filter(c => c.name === 'BellSoft Liberica JRE');
      assert.deepEqual(
        jre.map(c => c.purl),
        [`pkg:generic/bellsoft-jre@21.0.5?arch=${arch}`]
      );
      assert.deepEqual(jre[0].hashes, [{alg: 'SHA-256', content: sha256('jre' + arch)}]);
      assert.deepEqual(jre[0].licenses, [{expression: 'GPL-2.0 WITH Classpath-exception-2.0'}]);
      assert.ok(jre[0].properties?.some(p => p.name === 'multiarch-buildpack-action:purl' && p.value === `pkg:maven/io.example/jre-${arch}@21.0.5`));
    }
  });

  it('lists each binary with its SHA-256, and the Go main module and the vendored module linked into it', async () => {
    for (const arch of ['amd64', 'arm64']) {
      const all = flatten((await sbomOf(`linux/${arch}`)).components);
      const binary = all.find(c => c.type === 'file' && c.name === '/cnb/buildpacks/acme_sbom/1.0.0/bin/run');
      assert.ok(binary, `${arch}: bin/run is listed`);
      assert.match(binary.hashes?.[0].content ?? '', /^[a-f0-9]{64}$/);
      const go = (binary.components ?? []).map(c => [c.name, c.version, c.purl]);
      assert.deepEqual(go, [
        ['example.com/bp', undefined, 'pkg:golang/example.com/bp'],
        ['example.com/greet', 'v1.2.0', 'pkg:golang/example.com/greet@v1.2.0']
      ]);
    }
  });

  it('attaches each SBOM to its platform manifest through the referrers tag, the registry having no referrers API', async () => {
    const manifests = JSON.parse(first.outputs.manifests) as {platform: {architecture: string}; digest: string}[];
    for (const m of manifests) {
      const tag = m.digest.replace(':', '-');
      const index = JSON.parse(execOk('skopeo', ['inspect', '--raw', ...registry.skopeoFlags('plain'), `docker://${registry.host}/${repo}:${tag}`])) as {manifests: {digest: string; artifactType?: string}[]};
      assert.equal(index.manifests.length, 1);
      assert.equal(index.manifests[0].artifactType, 'application/vnd.cyclonedx+json');
      const artifact = JSON.parse((await registry.manifest(repo, index.manifests[0].digest)).body.toString('utf8')) as {artifactType: string; subject: {digest: string}; layers: {digest: string; mediaType: string}[]};
      assert.equal(artifact.subject.digest, m.digest);
      assert.equal(artifact.layers[0].mediaType, 'application/vnd.cyclonedx+json');
      const file = await readFile(files[`linux/${m.platform.architecture}`]);
      assert.equal(artifact.layers[0].digest, `sha256:${createHash('sha256').update(file).digest('hex')}`);
    }
    assert.deepEqual((await registry.tags(repo)).sort(), ['1.0.0', ...manifests.map(m => m.digest.replace(':', '-'))].sort(), 'no tags but the one asked for and the referrers tags');
  });

  it('gives the same bytes on every run, and a re-run uploads nothing and writes no referrers tag again', async () => {
    const before = registry.requests().length;
    const again = await runAction({path: bp, sbom: 'true', output: path.join(await tempDir('sbom-out-'), 'out'), tags: `${registry.host}/${repo}:1.0.0`, 'insecure-registries': registry.host});
    assert.equal(again.code, 0, again.stdout);
    const againFiles = JSON.parse(again.outputs['sbom-files']) as Record<string, string>;
    for (const platform of Object.keys(files)) assert.ok((await readFile(againFiles[platform])).equals(await readFile(files[platform])), platform);
    const requests = registry.requests().slice(before);
    assert.deepEqual(
      requests.filter(r => r.method === 'POST' || r.method === 'PATCH' || (r.method === 'PUT' && !/\/manifests\/1\.0\.0$/.test(r.path))),
      []
    );
  });

  it('split across package jobs, each attaches its own platform SBOM; merge tags the same index', async () => {
    const tags = `${registry.host}/acme/split:1.0.0`;
    const manifests: string[] = [];
    for (const arch of ['amd64', 'arm64']) {
      const job = await runAction({path: bp, sbom: 'true', mode: 'package', architectures: arch, output: path.join(await tempDir(`sbom-${arch}-`), 'out'), tags, 'insecure-registries': registry.host});
      assert.equal(job.code, 0, job.stdout + job.stderr);
      assert.deepEqual(Object.keys(JSON.parse(job.outputs['sbom-files']) as object), [`linux/${arch}`]);
      // The same image and content as the single job's; only the repository in its purl differs.
      const own = JSON.parse(await readFile((JSON.parse(job.outputs['sbom-files']) as Record<string, string>)[`linux/${arch}`], 'utf8')) as Cdx;
      const single = await sbomOf(`linux/${arch}`);
      assert.equal(PackageURL.fromString(own.metadata.component.purl as string).version, PackageURL.fromString(single.metadata.component.purl as string).version);
      assert.equal(PackageURL.fromString(own.metadata.component.purl as string).qualifiers?.repository_url, `${registry.host}/acme/split`);
      assert.deepEqual(own.components, single.components);
      manifests.push(job.outputs.manifests);
    }
    const digests = (JSON.parse(first.outputs.manifests) as {digest: string}[]).map(m => m.digest.replace(':', '-'));
    assert.deepEqual((await registry.tags('acme/split')).sort(), [...digests].sort(), 'only referrers tags before the merge');
    const merge = await runAction({path: bp, mode: 'merge', manifests: manifests.join('\n'), tags, 'insecure-registries': registry.host});
    assert.equal(merge.code, 0, merge.stdout + merge.stderr);
    assert.equal(merge.outputs.digest, first.outputs.digest);
    assert.deepEqual((await registry.tags('acme/split')).sort(), ['1.0.0', ...digests].sort());
  });

  it('mode publish of the layout attaches the SBOMs in another repository too', async () => {
    const layout = first.outputs.layout;
    const published = await runAction({mode: 'publish', layout, tags: `${registry.host}/acme/copy:1.0.0`, 'insecure-registries': registry.host});
    assert.equal(published.code, 0, published.stdout);
    const manifests = JSON.parse(first.outputs.manifests) as {digest: string}[];
    assert.deepEqual((await registry.tags('acme/copy')).sort(), ['1.0.0', ...manifests.map(m => m.digest.replace(':', '-'))].sort());
  });
});
