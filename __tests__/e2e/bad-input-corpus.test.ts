/**
 * The bad-input corpus: every case ends with exit code 1, exactly one ::error:: sentence naming
 * what is wrong and how to fix it, no stack trace, and nothing written to any registry (the
 * registries' catalogs stay empty).
 */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {chmod, copyFile, mkdir, readFile, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {runAction} from '../helpers/action.js';
import {copyExample, tempDir} from '../helpers/fixtures.js';
import {EXAMPLE_APP, EXAMPLE_BUILDPACK} from '../helpers/paths.js';
import {releaseAssets, releasePaths, sha256, startReleaseServer, type ReleaseServer} from '../helpers/releases.js';
import {DEFAULT_VERSIONS} from '../../src/tools/versions.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';

interface Context {
  registry: TestRegistry;
  basic: TestRegistry;
  releases: ReleaseServer;
}

interface Case {
  name: string;
  /** Inputs and environment for the run; may build fixtures. */
  given(ctx: Context): Promise<{inputs: Record<string, string>; env?: Record<string, string>}>;
  error: RegExp;
}

const VERSION = {version: '0.1.0'};
const bp = {path: EXAMPLE_BUILDPACK, ...VERSION};

async function withToml(edit: (toml: string) => string, extra?: (dir: string) => Promise<void>): Promise<string> {
  const dir = await copyExample();
  const file = path.join(dir, 'buildpack.toml');
  await writeFile(file, edit(await readFile(file, 'utf8')));
  if (extra) await extra(dir);
  return dir;
}

async function composite(packageToml: string | undefined): Promise<string> {
  const dir = await tempDir('family-');
  await writeFile(path.join(dir, 'buildpack.toml'), 'api = "0.10"\n[buildpack]\nid = "a/family"\nversion = "1.0.0"\n[[order]]\n[[order.group]]\nid = "examples/hello"\nversion = "0.1.0"\n');
  if (packageToml !== undefined) await writeFile(path.join(dir, 'package.toml'), packageToml);
  return dir;
}

/** A release server serving the stand-ins, but `pack` replaced by `script` (a shell script). */
async function packRelease(ctx: Context, tgz: Buffer): Promise<Record<string, string>> {
  const version = `0.0.${Math.floor(Math.random() * 1e6)}`;
  const assets = releaseAssets({pack: version, jam: DEFAULT_VERSIONS.jam, buildx: DEFAULT_VERSIONS.buildx});
  const paths = releasePaths({pack: version, jam: DEFAULT_VERSIONS.jam, buildx: DEFAULT_VERSIONS.buildx});
  assets.set(paths.pack, tgz);
  assets.set(paths.packSha256, Buffer.from(`${sha256(tgz)}  pack-v${version}-linux.tgz\n`));
  for (const [p, body] of assets) ctx.releases.put(p, body);
  return {'tools-download-base-url': ctx.releases.url, tools: `pack@${version},jam`};
}

/** A tgz made by GNU tar, with `--transform` to give its one entry any name. */
async function tgzWithEntry(name: string, content: string): Promise<Buffer> {
  const dir = await tempDir('tgz-');
  await writeFile(path.join(dir, 'pack'), content);
  await chmod(path.join(dir, 'pack'), 0o755);
  execFileSync('tar', ['-P', '--transform', `s,^pack$,${name},`, '-czf', path.join(dir, 'out.tgz'), '-C', dir, 'pack']);
  return readFile(path.join(dir, 'out.tgz'));
}

const cases: Case[] = [
  // Inputs
  {name: 'unknown architecture', given: async () => ({inputs: {...bp, architectures: 'amd64,sparc'}}), error: /Input "architectures" lists "sparc", which is not a known architecture/},
  {name: 'duplicate architecture', given: async () => ({inputs: {...bp, architectures: 'amd64\nx86_64'}}), error: /lists linux\/amd64 twice/},
  {name: 'non-linux platform', given: async () => ({inputs: {...bp, architectures: 'windows/amd64'}}), error: /only linux platforms are supported/},
  {name: 'unknown build mode', given: async () => ({inputs: {...bp, build: 'make'}}), error: /Input "build" is "make"; use one of auto, command, none/},
  {name: 'build: command without a command', given: async () => ({inputs: {...bp, build: 'command'}}), error: /"build-command" is empty/},
  {name: 'build-command without build: command', given: async () => ({inputs: {...bp, 'build-command': 'make'}}), error: /set build: command to use it/},
  {name: 'a boolean that is not one', given: async () => ({inputs: {...bp, experimental: 'yes'}}), error: /Input "experimental" is "yes"; use true or false/},
  {name: 'push that is not a boolean', given: async () => ({inputs: {...bp, push: 'maybe'}}), error: /Input "push" is "maybe"/},
  {name: 'semver build metadata in the version', given: async () => ({inputs: {...bp, version: '1.2.3+build.5'}}), error: /Input "version" is "1\.2\.3\+build\.5", which cannot be an image tag/},
  {name: 'a version starting with a dash', given: async () => ({inputs: {...bp, version: '-1'}}), error: /cannot be an image tag/},
  {name: 'an annotation without a key', given: async () => ({inputs: {...bp, annotations: 'just words'}}), error: /Input "annotations" has the item "just words"/},
  {name: 'an unknown format', given: async () => ({inputs: {...bp, format: 'tar'}}), error: /Input "format" is "tar"; use one of oci, docker/},
  {name: 'docker format with annotations', given: async () => ({inputs: {...bp, format: 'docker', annotations: 'a=b'}}), error: /format" is docker, whose manifest lists cannot carry annotations/},
  {name: 'docker format with experimental', given: async () => ({inputs: {...bp, format: 'docker', experimental: 'true'}}), error: /cannot carry the io\.paketo\.experimental annotation/},
  {name: 'an experimental architecture not being built', given: async () => ({inputs: {...bp, experimental: 'true', 'experimental-architectures': 's390x'}}), error: /lists linux\/s390x, which is not being built/},
  {name: 'an unknown mode', given: async () => ({inputs: {...bp, mode: 'deploy'}}), error: /Input "mode" is "deploy"/},
  {name: 'a smoke test without an app', given: async () => ({inputs: {...bp, 'smoke-test': 'emulated'}}), error: /"smoke-app" is empty/},
  {name: 'an unknown tool', given: async () => ({inputs: {...bp, tools: 'crane'}}), error: /Input "tools" lists "crane"/},
  {name: 'a tool version that is no version', given: async () => ({inputs: {...bp, tools: 'pack@banana'}}), error: /neither an exact version nor a semver range/},
  {name: 'a tool version range with a mirror', given: async ctx => ({inputs: {...bp, tools: 'pack@0.38', 'tools-download-base-url': ctx.releases.url}}), error: /no host but the mirror is contacted/},
  {name: 'a mirror that is not a URL', given: async () => ({inputs: {...bp, 'tools-download-base-url': 'mirror.example.com'}}), error: /"tools-download-base-url" is "mirror\.example\.com", which is not a URL/},
  {name: 'a username without a password', given: async () => ({inputs: {...bp, 'registry-username': 'me'}}), error: /Input "registry-password" is empty while "registry-username" is set/},
  {
    name: 'an output holding other files',
    given: async () => {
      const dir = await tempDir('busy-');
      await writeFile(path.join(dir, 'keep.txt'), 'x');
      return {inputs: {...bp, output: dir}};
    },
    error: /which holds files this action did not write there \("keep\.txt"\); nothing was deleted/
  },
  {name: 'an output that holds the buildpack', given: async () => ({inputs: {...bp, output: path.dirname(EXAMPLE_BUILDPACK)}}), error: /holds the buildpack directory and would be replaced/},
  {name: 'SOURCE_DATE_EPOCH that is not a number', given: async () => ({inputs: bp, env: {SOURCE_DATE_EPOCH: 'yesterday'}}), error: /SOURCE_DATE_EPOCH is "yesterday"/},
  // buildpack.toml
  {name: 'no buildpack.toml', given: async () => ({inputs: {...VERSION, path: await tempDir('empty-')}}), error: /No buildpack\.toml or extension\.toml in /},
  {name: 'malformed TOML', given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('name = "Hello Buildpack"', 'name = "Hello'))}}), error: /is not valid TOML at line \d+, column \d+/},
  {name: 'no buildpack id', given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('id = "examples/hello"', ''))}}), error: /has no buildpack\.id/},
  {name: 'an invalid buildpack id', given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('id = "examples/hello"', 'id = "Examples Hello!"'))}}), error: /the buildpack id "Examples Hello!", which is not valid/},
  {name: 'a field of the wrong type', given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('name = "Hello Buildpack"', 'name = 3'))}}), error: /buildpack\.name that is not a string/},
  {
    name: 'an architecture no target admits',
    given: async () => ({inputs: {...VERSION, architectures: 'amd64,arm64', path: await withToml(t => t.replace(/\[\[targets\]\]\n\s*os = "linux"\n\s*arch = "arm64"\n/, ''))}}),
    error: /Input "architectures" lists linux\/arm64, which no \[\[targets\]\] entry of .*buildpack\.toml admits \(targets: linux\/amd64\); add a \[\[targets\]\] entry for it/
  },
  {
    name: 'targets for other operating systems only',
    given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replaceAll('os = "linux"', 'os = "windows"'))}}),
    error: /has \[\[targets\]\] for windows\/amd64, windows\/arm64 only, and the action builds linux images/
  },
  {name: 'a template version and no version input', given: async () => ({inputs: {path: EXAMPLE_BUILDPACK}}), error: /which is not a real version; set the "version" input/},
  {name: 'include-files that is not a list', given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace(/include-files = \[[^\]]*\]/, 'include-files = "bin"'))}}), error: /include-files that is not a list of paths/},
  {
    name: 'a dependency checksum that is not sha256',
    given: async () => ({inputs: {...VERSION, path: await withToml(t => `${t}\n[[metadata.dependencies]]\n  id = "x"\n  checksum = "md5:abc"\n`)}}),
    error: /dependency x the checksum "md5:abc", which is not sha256/
  },
  // package.toml
  {name: 'a composite without package.toml', given: async () => ({inputs: {path: await composite(undefined)}}), error: /it is a composite, but .*package\.toml does not exist/},
  {name: 'a malformed package.toml', given: async () => ({inputs: {path: await composite('[[dependencies]\nuri = "x"')}}), error: /package\.toml is not valid TOML at line \d+, column \d+/},
  {name: 'a package.toml dependency without uri', given: async () => ({inputs: {path: await composite('[[dependencies]]\nimage_name = "x"\n')}}), error: /\[\[dependencies\]\] entry 1 has no uri/},
  {
    name: 'a package.toml https dependency',
    given: async () => ({inputs: {path: await composite('[[dependencies]]\nuri = "https://example.com/x.tgz"\n')}}),
    error: /uri "https:\/\/example\.com\/x\.tgz" is not supported for a multi-platform composite/
  },
  {
    name: 'a package.toml buildpack uri elsewhere',
    given: async () => ({inputs: {path: await composite('[buildpack]\nuri = "../other"\n[[dependencies]]\nuri = "docker://ghcr.io/a/b:1"\n')}}),
    error: /\[buildpack\] uri = "\.\.\/other"; .*write uri = "\."/
  },
  {name: 'a package.toml dependency with capitals', given: async () => ({inputs: {path: await composite('[[dependencies]]\nuri = "docker://ghcr.io/Acme/b:1"\n')}}), error: /repository "Acme\/b" has capital letters/},
  // File system and archives
  {
    name: 'include-files climbing out with ..',
    given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('"README.md",', '"README.md", "../../etc/passwd",'))}}),
    error: /include-files lists "\.\.\/\.\.\/etc\/passwd" leaves the buildpack directory/
  },
  {name: 'an absolute include-files entry', given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('"README.md",', '"README.md", "/etc/passwd",'))}}), error: /"\/etc\/passwd" leaves the buildpack directory/},
  {
    name: 'a symlink escaping the buildpack',
    given: async () => ({
      inputs: {
        ...VERSION,
        path: await withToml(
          t => t.replace('"README.md",', '"README.md", "secrets",'),
          dir => symlink('/etc', path.join(dir, 'secrets'))
        )
      }
    }),
    error: /The symlink secrets -> \/etc in the linux\/amd64 buildpack points outside/
  },
  {
    name: 'include-files through a symlinked directory',
    given: async () => ({
      inputs: {
        ...VERSION,
        path: await withToml(
          t => t.replace('"README.md",', '"README.md", "docs/index.md",'),
          dir => symlink('/usr/share', path.join(dir, 'docs'))
        )
      }
    }),
    error: /lists "docs\/index\.md", which is inside the symlink docs; links are not followed/
  },
  {
    name: 'a missing include-files entry',
    given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('"README.md",', '"README.md", "LICENSE",'))}}),
    error: /include-files lists "LICENSE", which is not in the buildpack directory/
  },
  {
    name: 'a wrong-architecture binary',
    given: async () => {
      const dir = await tempDir('wrong-');
      await writeFile(path.join(dir, 'buildpack.toml'), 'api = "0.10"\n[buildpack]\nid = "a/b"\nversion = "1.0.0"\n');
      for (const arch of ['amd64', 'arm64']) {
        await mkdir(path.join(dir, 'linux', arch, 'bin'), {recursive: true});
        for (const f of ['detect', 'build']) await copyFile('/bin/true', path.join(dir, 'linux', arch, 'bin', f));
      }
      return {inputs: {path: dir}};
    },
    error: /bin\/build in the linux\/arm64 buildpack is built for x86-64, not aarch64/
  },
  {
    name: 'a tool archive entry climbing out with ..',
    given: async ctx => ({inputs: {...bp, ...(await packRelease(ctx, await tgzWithEntry('../../evil', '#!/bin/sh\n')))}}),
    error: /holds the entry "\.\.\/\.\.\/evil", which climbs out of the archive/
  },
  {name: 'an absolute tool archive entry', given: async ctx => ({inputs: {...bp, ...(await packRelease(ctx, await tgzWithEntry('/usr/local/bin/pack', '#!/bin/sh\n')))}}), error: /holds the absolute entry "\/usr\/local\/bin\/pack"/},
  {
    name: 'a .cnb with an entry climbing out with ..',
    given: async ctx => {
      // A pack that writes a .cnb holding ../../evil: the importer must refuse it.
      const script = `#!/bin/sh
out="$3"; mkdir -p "$(dirname "$out")"; d=$(mktemp -d); echo x > "$d/x"
tar -P --transform 's,^x$,../../evil,' -cf "$out" -C "$d" x
`;
      const dir = await tempDir('prebuilt-');
      await writeFile(
        path.join(dir, 'buildpack.toml'),
        'api = "0.10"\n[buildpack]\nid = "a/b"\nversion = "1.0.0"\n[metadata]\ninclude-files = ["buildpack.toml", "linux/amd64/bin/detect", "linux/amd64/bin/build"]\n[[targets]]\nos = "linux"\narch = "amd64"\n'
      );
      await mkdir(path.join(dir, 'linux', 'amd64', 'bin'), {recursive: true});
      for (const f of ['detect', 'build']) await copyFile('/bin/true', path.join(dir, 'linux', 'amd64', 'bin', f));
      return {inputs: {path: dir, packager: 'pack', ...(await packRelease(ctx, await tgzWithEntry('pack', script)))}};
    },
    error: /buildpack\.cnb holds the entry "\.\.\/\.\.\/evil", which climbs out of the archive/
  },
  {
    name: 'a tool archive with a chain of symlinks',
    given: async ctx => {
      const dir = await tempDir('chain-');
      execFileSync('bash', ['-c', `cd "${dir}" && ln -s . a && tar -cf c.tar a && rm a && mkdir a && ln -s .. a/b && tar -rf c.tar a/b && echo x > x && tar -rf c.tar --transform 's,^x$,a/b/evil,' x && gzip c.tar`]);
      return {inputs: {...bp, ...(await packRelease(ctx, await readFile(path.join(dir, 'c.tar.gz'))))}};
    },
    error: /holds "a\/b", which would be written through the symlink "a" it made earlier; refusing to extract it/
  },
  {
    name: 'a buildpack.toml that is a directory',
    given: async () => {
      const dir = await tempDir('dir-toml-');
      await mkdir(path.join(dir, 'buildpack.toml'));
      return {inputs: {...VERSION, path: dir}};
    },
    error: /Could not read .*buildpack\.toml: it is a directory \(EISDIR\)/
  },
  {
    name: 'a duplicate key in a CRLF buildpack.toml',
    given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace(/\n/g, '\r\n').replace('name = "Hello Buildpack"', 'name = "Hello Buildpack"\r\n  name = "Again"'))}}),
    error: /is not valid TOML at line \d+, column \d+ \(Defining a key multiple times is invalid\)/
  },
  {
    name: 'an include-files entry holding a workflow command',
    given: async () => ({inputs: {...VERSION, path: await withToml(t => t.replace('"README.md",', '"README.md", "notes\\n::warning::x",'))}}),
    error: /include-files lists "notes%0A::warning::x", which is not in the buildpack directory/
  },
  {
    name: 'an output holding oci-layout and a foreign file',
    given: async () => {
      const dir = await tempDir('half-');
      await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      await writeFile(path.join(dir, 'notes.txt'), 'x');
      return {inputs: {...bp, output: dir}};
    },
    error: /holds files this action did not write there \("notes\.txt", "oci-layout"\); nothing was deleted/
  },
  // References
  {name: 'a tag with capital letters', given: async ctx => ({inputs: {...bp, tags: `${ctx.registry.host}/Acme/hello:1`}}), error: /repository "Acme\/hello" has capital letters/},
  {name: 'a tag with build metadata', given: async ctx => ({inputs: {...bp, tags: `${ctx.registry.host}/acme/hello:1.0.0+b1`}}), error: /tags cannot hold "\+"/},
  {name: 'a reference without a tag', given: async ctx => ({inputs: {...bp, tags: `${ctx.registry.host}/acme/hello`}}), error: /which has no tag/},
  {name: 'a reference with a digest', given: async ctx => ({inputs: {...bp, tags: `${ctx.registry.host}/acme/hello@sha256:${'a'.repeat(64)}`}}), error: /names a digest/},
  {name: 'a tag listed twice', given: async ctx => ({inputs: {...bp, tags: `${ctx.registry.host}/acme/hello:1,${ctx.registry.host}/acme/hello:1`}}), error: /lists 127\.0\.0\.1:\d+\/acme\/hello:1 twice/},
  {name: 'a registry host that is not one', given: async () => ({inputs: {...bp, tags: 'bad_host.example:port/acme/hello:1'}}), error: /whose registry "bad_host\.example:port" is not a host name/},
  // Credentials
  {
    name: 'a docker config that is not JSON',
    given: async ctx => {
      const dir = await tempDir('docker-');
      await writeFile(path.join(dir, 'config.json'), '{"auths": ');
      return {inputs: {...bp, tags: `${ctx.registry.host}/acme/hello:1`, 'insecure-registries': ctx.registry.host}, env: {DOCKER_CONFIG: dir}};
    },
    error: /config\.json is not valid JSON/
  },
  {
    name: 'a wrong password',
    given: async ctx => ({inputs: {...bp, tags: `${ctx.basic.host}/acme/hello:1`, 'registry-username': 'pusher', 'registry-password': 'wrong'}, env: {NODE_EXTRA_CA_CERTS: ctx.basic.caFile as string}}),
    error: /rejected the user pusher .*\(HTTP 401\)/
  },
  {name: 'a plain-HTTP registry not listed as insecure', given: async ctx => ({inputs: {...bp, tags: `${ctx.registry.host}/acme/hello:1`}}), error: /does not speak HTTPS .*list it in insecure-registries/},
  {
    name: 'a tag carrying a password',
    given: async ctx => ({inputs: {...bp, tags: `me:s3cret-pw@${ctx.registry.host}/acme/hello:1`, 'insecure-registries': ctx.registry.host}}),
    error: /has "\*\*\*@127\.0\.0\.1:\d+\/acme\/hello:1", which carries a user name or password before "@"/
  },
  {
    name: 'an HTTP time limit that is no number',
    given: async ctx => ({inputs: {...bp, tags: `${ctx.registry.host}/acme/hello:1`, 'insecure-registries': ctx.registry.host}, env: {MULTIARCH_BUILDPACK_HTTP_TIMEOUT: 'soon'}}),
    error: /MULTIARCH_BUILDPACK_HTTP_TIMEOUT is "soon", which is not a number of seconds/
  },
  // Releases
  {name: 'an expected-digest that is no digest', given: async () => ({inputs: {...bp, 'expected-digest': 'sha256:abc'}}), error: /Input "expected-digest" is "sha256:abc", which is not a sha256 digest/},
  {name: 'an asset-name with a slash', given: async () => ({inputs: {...bp, 'asset-name': '../evil'}}), error: /Input "asset-name" is "\.\.\/evil", which is not a file name stem/},
  {
    name: 'publish without a layout',
    given: async ctx => ({inputs: {mode: 'publish', tags: `${ctx.registry.host}/acme/hello:1`, 'insecure-registries': ctx.registry.host}}),
    error: /Input "layout" is empty, but mode: publish publishes a layout/
  },
  {
    name: 'publish of a layout that does not exist',
    given: async ctx => ({inputs: {mode: 'publish', layout: '/nonexistent/layout.tar', tags: `${ctx.registry.host}/acme/hello:1`, 'insecure-registries': ctx.registry.host}}),
    error: /Input "layout" is \/nonexistent\/layout\.tar, which does not exist/
  },
  {
    name: 'publish of a directory that is no layout',
    given: async ctx => ({inputs: {mode: 'publish', layout: await tempDir('no-layout-'), tags: `${ctx.registry.host}/acme/hello:1`, 'insecure-registries': ctx.registry.host}}),
    error: /has no oci-layout file; it is not a complete OCI image layout/
  },
  // The manifests input
  {name: 'merge with manifests that are not JSON', given: async ctx => ({inputs: {...bp, mode: 'merge', manifests: 'nope', tags: `${ctx.registry.host}/acme/hello:1`}}), error: /Input "manifests" has a line that is not JSON/},
  {name: 'merge with an empty manifests input', given: async ctx => ({inputs: {...bp, mode: 'merge', tags: `${ctx.registry.host}/acme/hello:1`}}), error: /Input "manifests" is empty/},
  {
    name: 'merge with a malformed digest',
    given: async ctx => ({
      inputs: {
        ...bp,
        mode: 'merge',
        manifests: JSON.stringify([{platform: {os: 'linux', architecture: 'amd64'}, digest: 'sha256:xyz', size: 10, mediaType: 'application/vnd.oci.image.manifest.v1+json'}]),
        tags: `${ctx.registry.host}/acme/hello:1`
      }
    }),
    error: /whose digest is not sha256:<64 hex digits>/
  },
  {
    name: 'merge with an unknown platform',
    given: async ctx => ({
      inputs: {
        ...bp,
        mode: 'merge',
        manifests: JSON.stringify([{platform: {os: 'linux', architecture: 'sparc'}, digest: `sha256:${'a'.repeat(64)}`, size: 10, mediaType: 'application/vnd.oci.image.manifest.v1+json'}]),
        tags: `${ctx.registry.host}/acme/hello:1`
      }
    }),
    error: /Input "manifests" lists "linux\/sparc", which is not a known architecture/
  },
  {
    name: 'merge without tags',
    given: async () => ({inputs: {...bp, mode: 'merge', manifests: JSON.stringify([{platform: {os: 'linux', architecture: 'amd64'}, digest: `sha256:${'a'.repeat(64)}`, size: 10, mediaType: 'application/vnd.oci.image.manifest.v1+json'}])}}),
    error: /Input "tags" is empty, but mode: merge/
  },
  {
    name: 'merge with a manifests array nested 60,000 deep',
    given: async ctx => ({inputs: {...bp, mode: 'merge', manifests: `${'['.repeat(60_000)}${']'.repeat(60_000)}`, tags: `${ctx.registry.host}/acme/hello:1`}}),
    error: /Input "manifests" has a line nested deeper than package jobs' outputs are/
  },
  {
    name: 'merge with an entry whose platform is not an object',
    given: async ctx => ({
      inputs: {...bp, mode: 'merge', manifests: JSON.stringify([{platform: 'linux/amd64', digest: `sha256:${'a'.repeat(64)}`, size: 10, mediaType: 'application/vnd.oci.image.manifest.v1+json'}]), tags: `${ctx.registry.host}/acme/hello:1`}
    }),
    error: /without a platform/
  },
  {name: 'smoke without manifests', given: async ctx => ({inputs: {mode: 'smoke', 'smoke-app': EXAMPLE_APP, tags: `${ctx.registry.host}/acme/hello:1`}}), error: /Input "manifests" is empty/}
];

describe('bad-input corpus', () => {
  const ctx = {} as Context;
  before(async () => {
    ctx.registry = await startRegistry({});
    ctx.basic = await startRegistry({tls: true, htpasswd: [{username: 'pusher', password: 'right'}]});
    ctx.releases = await startReleaseServer();
  });
  after(async () => {
    await ctx.registry?.stop();
    await ctx.basic?.stop();
    await ctx.releases?.stop();
  });

  it(`has at least 40 cases (${cases.length})`, () => assert.ok(cases.length >= 40));
  let annotatedOnTheirLine = 0;

  for (const c of cases) {
    it(c.name, async () => {
      const {inputs, env} = await c.given(ctx);
      const output = inputs.output ?? path.join(await tempDir('corpus-'), 'out');
      const run = await runAction({output, ...inputs}, {env});
      assert.equal(run.code, 1, `exit code\n${run.stdout}\n${run.stderr}`);
      assert.equal(run.errors.length, 1, `one ::error::\n${run.stdout}`);
      assert.match(run.errors[0], c.error);
      assert.match(run.errors[0], /^::error(?: [^:\n]*)?::[^\n]+\.$/, 'one sentence');
      assert.doesNotMatch(run.errors[0], /Internal error/);
      if (/::\/\S*\/(buildpack|package|extension)\.toml (is|has|gives|lists) /.test(run.errors[0])) {
        assert.match(run.errors[0], /^::error file=[^,]+\.toml,line=\d+(,col=\d+)?::/, 'a TOML file at fault is annotated on its line');
        annotatedOnTheirLine++;
      }
      assert.doesNotMatch(`${run.stdout}\n${run.stderr}`, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
      assert.deepEqual(await ctx.registry.catalog(), [], 'nothing written to the registry');
      assert.deepEqual(await ctx.basic.catalog(), [], 'nothing written to the TLS registry');
    });
  }
  it('annotated the errors of TOML files on their lines (the check above is not vacuous)', () => assert.ok(annotatedOnTheirLine >= 12, `${annotatedOnTheirLine} cases`));
});
