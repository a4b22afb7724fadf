import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {bundledPath, dependenciesFor, filterDependencies} from '../../src/buildpack/dependencies.js';
import {escapedId, parseDescriptor} from '../../src/buildpack/descriptor.js';
import {compareNames, compareWalkOrder, containedPath, type SourceEntry} from '../../src/buildpack/files.js';
import {checkIncludeFiles, mapToPlatform, platformTree} from '../../src/buildpack/tree.js';
import {renderDescriptor, resolveVersion} from '../../src/buildpack/version.js';
import {parsePlatform} from '../../src/platform/platform.js';

const amd64 = parsePlatform('amd64', 'x');
const arm64 = parsePlatform('arm64', 'x');

const TOML = `# comment kept
api = "0.10"

[buildpack]
  id = "acme/my-bp"
  name = "My Buildpack"
  version = "{{ .version }}" # set by the action
  homepage = "https://example.com"

  [[buildpack.licenses]]
    type = "MIT"

[metadata]
  include-files = ["bin/run", "linux/amd64/bin/run", "linux/arm64/bin/run", "buildpack.toml"]
  pre-package = "./scripts/build.sh"

  [[metadata.dependencies]]
    id = "thing"
    version = "1.0.0"

[[targets]]
  os = "linux"
  arch = "amd64"
  [[targets.distros]]
    name = "ubuntu"
    version = "22.04"

[[targets]]
  os = "linux"
  arch = "arm64"
`;

describe('buildpack.toml', () => {
  it('reads the fields the action needs', () => {
    const d = parseDescriptor(TOML, '/bp/buildpack.toml');
    assert.equal(d.id, 'acme/my-bp');
    assert.equal(d.api, '0.10');
    assert.equal(d.version, '{{ .version }}');
    assert.deepEqual(d.licenses, [{type: 'MIT', uri: undefined}]);
    assert.deepEqual(
      d.targets.map(t => t.arch),
      ['amd64', 'arm64']
    );
    assert.deepEqual(d.targets[0].distros, [{name: 'ubuntu', version: '22.04'}]);
    assert.deepEqual(d.includeFiles, ['bin/run', 'linux/amd64/bin/run', 'linux/arm64/bin/run', 'buildpack.toml']);
    assert.equal(d.prePackage, './scripts/build.sh');
    assert.equal(escapedId(d.id), 'acme_my-bp');
  });

  it('reports malformed TOML with its line and column', () => {
    assert.throws(
      () => parseDescriptor('api = "0.10"\n[buildpack]\n  id = "x\n', '/bp/buildpack.toml'),
      (e: Error) => e.name === 'UserError' && /^\/bp\/buildpack\.toml is not valid TOML at line 3, column \d+ \(.+\); fix the syntax there\.$/.test(e.message)
    );
  });

  it('rejects a missing or invalid id and wrong types', () => {
    assert.throws(() => parseDescriptor('api = "0.10"\n', 'f'), /f has no \[buildpack\] table/);
    assert.throws(() => parseDescriptor('[buildpack]\nid = "Bad Id!"\n', 'f'), /buildpack id "Bad Id!", which is not valid/);
    assert.throws(() => parseDescriptor('[buildpack]\nid = "a"\nname = 3\n', 'f'), /buildpack.name that is not a string/);
    assert.throws(() => parseDescriptor('[buildpack]\nid = "a"\n[metadata]\ninclude-files = "bin"\n', 'f'), /include-files that is not a list/);
  });
});

describe('version', () => {
  const d = parseDescriptor(TOML, '/bp/buildpack.toml');
  it('takes the input, else a real version from buildpack.toml', () => {
    assert.equal(resolveVersion('1.2.3', d), '1.2.3');
    assert.equal(resolveVersion(undefined, parseDescriptor('[buildpack]\nid = "a"\nversion = "0.4.1"\n', 'f')), '0.4.1');
  });
  it('rejects a template default and tags that cannot be tags', () => {
    assert.throws(() => resolveVersion(undefined, d), /has the version "\{\{ \.version \}\}", which is not a real version; set the "version" input/);
    assert.throws(() => resolveVersion('1.2.3+build.5', d), /Input "version" is "1\.2\.3\+build\.5", which cannot be an image tag; .*1\.2\.3-build\.5/);
    assert.throws(() => resolveVersion('-1', d), /cannot be an image tag/);
    assert.throws(() => resolveVersion(undefined, parseDescriptor('[buildpack]\nid = "a"\n', 'f')), /no buildpack.version/);
  });
  it('writes the version into the text, keeping everything else as written', () => {
    const out = renderDescriptor(d, '1.2.3');
    assert.equal(out, TOML.replace('version = "{{ .version }}" # set by the action', 'version = "1.2.3" # set by the action'));
    const noVersion = parseDescriptor('[buildpack]\n  id = "a"\n', 'f');
    assert.equal(renderDescriptor(noVersion, '2.0.0'), '[buildpack]\n  version = "2.0.0"\n  id = "a"\n');
    const dotted = parseDescriptor('buildpack.id = "a"\nbuildpack.version = "0.0.0"\n', 'f');
    assert.equal(renderDescriptor(dotted, '3.0.0'), 'buildpack.id = "a"\nbuildpack.version = "3.0.0"\n');
    const inline = parseDescriptor('buildpack = { id = "a", version = "0.0.0" }\n', 'f');
    assert.equal(renderDescriptor(inline, '4.0.0'), 'buildpack = { id = "a", version = "4.0.0" }\n');
  });
  it('reads and rewrites files as users have them: CRLF, a BOM, version = inside a multi-line string', () => {
    const crlf = '\uFEFFapi = "0.10"\r\n[buildpack]\r\n  id = "a/b"\r\n  description = """\r\nversion = "not this one"\r\n"""\r\n  version = "{{ .version }}" # kept\r\n';
    const parsed = parseDescriptor(crlf, 'f');
    assert.equal(parsed.description, 'version = "not this one"\n');
    assert.equal(renderDescriptor(parsed, '1.2.3'), crlf.replace('"{{ .version }}"', '"1.2.3"'));
    const bare = parseDescriptor('\uFEFF[buildpack]\r\n  id = "a"\r\n', 'f');
    assert.equal(renderDescriptor(bare, '2.0.0'), '\uFEFF[buildpack]\r\n  version = "2.0.0"\r\n  id = "a"\r\n', "an added line uses the file's line endings");
    assert.throws(
      () => parseDescriptor('[buildpack]\r\nid = "a"\r\nid = "b"\r\n', '/bp/buildpack.toml'),
      (e: Error & {line?: number}) => e.name === 'UserError' && e.line === 3 && /at line 3, column 1 \(Defining a key multiple times is invalid\)/.test(e.message)
    );
  });
});

describe('platform trees', () => {
  const file = (p: string, executable = false): SourceEntry => ({path: p, type: 'file', source: `/src/${p}`, executable, size: 1});
  const source: SourceEntry[] = [
    file('README.md'),
    {path: 'linux', type: 'directory'},
    file('linux/amd64/bin/run', true),
    file('linux/arm64/bin/run', true),
    {path: 'linux/arm64/bin/detect', type: 'symlink', target: 'run'},
    file('buildpack.toml'),
    file('notes.txt')
  ];

  it('maps platform roots to the top and drops other platforms', () => {
    assert.equal(mapToPlatform('linux/arm64/bin/run', arm64), 'bin/run');
    assert.equal(mapToPlatform('linux/arm64/bin/run', amd64), undefined);
    assert.equal(mapToPlatform('linux/arm64', arm64), undefined);
    assert.equal(mapToPlatform('linux', arm64), undefined);
    assert.equal(mapToPlatform('README.md', arm64), 'README.md');
    assert.equal(mapToPlatform('linux/arm/v7/bin/run', parsePlatform('linux/arm/v7', 'x')), 'bin/run');
  });

  it('ships include-files only, with parents, in walk order, and the rendered buildpack.toml', () => {
    const tree = platformTree({source, built: [], descriptor: 'X', includeFiles: ['README.md', 'linux/arm64/bin/run', 'linux/arm64/bin/detect', 'linux/amd64/bin/run'], platform: arm64});
    assert.deepEqual(
      tree.map(e => `${e.type}:${e.path}`),
      ['file:README.md', 'directory:bin', 'symlink:bin/detect', 'file:bin/run', 'file:buildpack.toml']
    );
    const toml = tree.find(e => e.path === 'buildpack.toml');
    assert.ok(toml && 'content' in toml && toml.content.toString() === 'X');
  });

  it('ships everything without include-files, built files overriding the source', () => {
    const built: SourceEntry[] = [{path: 'bin/run', type: 'file', source: '/work/bin/run', executable: true, size: 9}];
    const tree = platformTree({source, built, descriptor: 'X', platform: amd64});
    assert.deepEqual(
      tree.map(e => e.path),
      ['README.md', 'bin', 'bin/run', 'buildpack.toml', 'notes.txt']
    );
    const run = tree.find(e => e.path === 'bin/run');
    assert.ok(run && 'source' in run && run.source === '/work/bin/run');
  });

  it('refuses include-files entries and symlinks that leave the buildpack', () => {
    assert.throws(() => platformTree({source, built: [], descriptor: 'X', includeFiles: ['../secrets'], platform: amd64}), /include-files lists "..\/secrets" leaves the buildpack directory/);
    assert.throws(() => platformTree({source, built: [], descriptor: 'X', includeFiles: ['/etc/passwd'], platform: amd64}), /leaves the buildpack directory/);
    const escaping: SourceEntry[] = [...source, {path: 'bin/detect', type: 'symlink', target: '../../outside'}];
    assert.throws(() => platformTree({source: escaping, built: [], descriptor: 'X', platform: amd64}), /The symlink bin\/detect -> ..\/..\/outside in the linux\/amd64 buildpack points outside/);
    const absolute: SourceEntry[] = [...source, {path: 'bin/detect', type: 'symlink', target: '/bin/sh'}];
    assert.throws(() => platformTree({source: absolute, built: [], descriptor: 'X', platform: amd64}), /points outside/);
  });

  it('reports include-files entries that match nothing', () => {
    const trees = [amd64, arm64].map(platform => platformTree({source, built: [], descriptor: 'X', includeFiles: ['README.md', 'LICENSE'], platform}));
    assert.throws(() => checkIncludeFiles(['README.md', 'LICENSE'], trees, [amd64, arm64], source, 'bp/buildpack.toml'), /include-files lists "LICENSE", which is not in the buildpack directory/);
    // An entry for a platform not built this run is fine.
    const amdOnly = [platformTree({source, built: [], descriptor: 'X', includeFiles: ['linux/arm64/bin/run'], platform: amd64})];
    checkIncludeFiles(['linux/arm64/bin/run'], amdOnly, [amd64], source, 'f');
  });

  it('orders paths component by component', () => {
    assert.deepEqual(['a-c', 'a/b', 'a', 'b'].sort(compareWalkOrder), ['a', 'a/b', 'a-c', 'b']);
    assert.equal(containedPath('./bin//run/', 'x'), 'bin/run');
  });

  it('orders as Go does (components by UTF-8 bytes) for any names, without encoding them', () => {
    // The reference: split into components, compare each by its UTF-8 bytes.
    const reference = (a: string, b: string): number => {
      const pa = a.split('/');
      const pb = b.split('/');
      for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
        if (pa[i] !== pb[i]) return Buffer.compare(Buffer.from(pa[i], 'utf8'), Buffer.from(pb[i], 'utf8'));
      }
      return pa.length - pb.length;
    };
    const alphabet = ['a', 'b', '-', '.', '_', '/', 'Z', '0', '\u00e9', '\u4e2d', '\ue000', '\uffee', '\u{1f600}', '\u{10000}'];
    let seed = 7;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const name = (): string =>
      Array.from({length: 1 + random(6)}, () => alphabet[random(alphabet.length)])
        .join('')
        .replace(/^\/+|\/+$/g, '')
        .replace(/\/+/g, '/') || 'x';
    for (let i = 0; i < 5000; i++) {
      const [a, b] = [name(), name()];
      assert.equal(Math.sign(compareWalkOrder(a, b)), Math.sign(reference(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      const [x, y] = [a.replaceAll('/', ''), b.replaceAll('/', '')];
      assert.equal(Math.sign(compareNames(x, y)), Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y))), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
    }
  });
});

describe('dependencies per platform', () => {
  const text = `api = "0.10"
[buildpack]
  id = "a/b"
  version = "1.0.0"

[metadata]
  include-files = ["bin/run"]

  # amd64 build
  [[metadata.dependencies]]
    id = "node"
    arch = "amd64"
    uri = "https://example.com/node-amd64.tgz"
    checksum = "sha256:${'a'.repeat(64)}"

    [[metadata.dependencies.licenses]]
      type = "MIT"

  [[metadata.dependencies]]
    id = "node"
    arch = "arm64"
    uri = 'https://example.com/node-arm64.tgz' # single-quoted
    sha256 = "${'B'.repeat(64)}"

  [[metadata.dependencies]]
    id = "tools"
    uri = "https://example.com/tools.tgz"
    checksum = "sha256:${'c'.repeat(64)}"

  [[metadata.dependency-constraints]]
    id = "node"
`;
  const d = parseDescriptor(text, 'f');
  it('reads arch, os and both checksum spellings', () => {
    assert.deepEqual(
      d.dependencies.map(x => [x.id, x.arch ?? '', x.sha256?.[0]]),
      [
        ['node', 'amd64', 'a'],
        ['node', 'arm64', 'b'],
        ['tools', '', 'c']
      ]
    );
    assert.deepEqual(
      dependenciesFor(d.dependencies, arm64).map(x => x.index),
      [1, 2]
    );
    assert.throws(() => parseDescriptor('[buildpack]\nid = "a"\n[[metadata.dependencies]]\nid = "x"\nchecksum = "md5:1"\n', 'f'), /dependency x the checksum "md5:1", which is not sha256/);
  });
  it("reads a libpak dependency's architecture from its purl when it gives no arch, as libpak does", () => {
    const libpak = parseDescriptor(
      `[buildpack]\nid = "a"\n${[
        'id = "jdk"\npurl = "pkg:generic/bellsoft-jdk@21.0.5?arch=amd64"',
        'id = "jdk"\npurls = ["pkg:generic/bellsoft-jdk@21.0.5?os=linux&arch=arm64#sub", "pkg:maven/x/y@1"]',
        'id = "jdk"\narch = "ppc64le"\npurl = "pkg:generic/bellsoft-jdk@21.0.5?arch=arm64"',
        'id = "jdk"\npurl = "pkg:generic/bellsoft-jdk@21.0.5?arch=s390%78"',
        'id = "agent"\npurl = "pkg:generic/agent@1.0.0"'
      ]
        .map(d => `[[metadata.dependencies]]\n${d}\n`)
        .join('')}`,
      'f'
    );
    assert.deepEqual(
      libpak.dependencies.map(x => [x.arch, x.purl, x.morePurls]),
      [
        ['amd64', 'pkg:generic/bellsoft-jdk@21.0.5?arch=amd64', undefined],
        ['arm64', 'pkg:generic/bellsoft-jdk@21.0.5?os=linux&arch=arm64#sub', ['pkg:maven/x/y@1']],
        ['ppc64le', 'pkg:generic/bellsoft-jdk@21.0.5?arch=arm64', undefined],
        ['s390x', 'pkg:generic/bellsoft-jdk@21.0.5?arch=s390%78', undefined],
        [undefined, 'pkg:generic/agent@1.0.0', undefined]
      ]
    );
    assert.deepEqual(
      dependenciesFor(libpak.dependencies, arm64).map(x => x.index),
      [1, 4]
    );
  });
  it('keeps only the kept blocks, with their sub-tables, and rewrites uris in place', () => {
    const out = filterDependencies(text, 3, new Set([1, 2]), new Map([[1, 'file:///dependencies/x/node-arm64.tgz']]), 'f');
    assert.doesNotMatch(out, /node-amd64|licenses/);
    assert.match(out, /uri = "file:\/\/\/dependencies\/x\/node-arm64\.tgz" # single-quoted/);
    assert.match(out, /tools\.tgz/);
    assert.match(out, /\[\[metadata\.dependency-constraints\]\]/, 'other tables kept');
    assert.match(out, /# amd64 build/, 'comments before a kept or dropped block stay');
    assert.equal(bundledPath(d.dependencies[1]), `dependencies/${'b'.repeat(64)}/node-arm64.tgz`);
  });
  it('filters CRLF files and inline arrays of dependencies the same way', () => {
    const crlf = text.replaceAll('\n', '\r\n');
    const out = filterDependencies(crlf, 3, new Set([0]), new Map([[0, 'file:///dependencies/a/node.tgz']]), 'f');
    assert.doesNotMatch(out, /node-arm64|tools\.tgz/);
    assert.ok(!/[^\r]\n/.test(out), 'CRLF kept throughout');
    const inline = '[buildpack]\nid = "a"\n[metadata]\ndependencies = [\n  { id = "x", arch = "amd64", uri = "https://e/x" },\n  { id = "y", arch = "arm64", uri = "https://e/y" },\n]\n';
    assert.equal(filterDependencies(inline, 2, new Set([1]), new Map([[1, 'file:///y']]), 'f'), '[buildpack]\nid = "a"\n[metadata]\ndependencies = [\n  { id = "y", arch = "arm64", uri = "file:///y" },\n]\n');
  });
});
