import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {describe, it} from 'node:test';
import {parse} from 'yaml';
import {annotationsAt, parseAnnotations} from '../../src/inputs/annotations.js';
import {getInputs} from '../../src/inputs/inputs.js';
import {parseLines, parseList} from '../../src/inputs/list.js';
import {INPUT_NAMES} from '../../src/inputs/names.js';
import {parseFlags} from '../../src/inputs/flags.js';
import {parseManifestRecords} from '../../src/inputs/manifests.js';
import {ROOT} from '../helpers/paths.js';

const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, {description: string; default?: string}>;
  outputs: Record<string, {description: string}>;
  runs: {using: string; main: string};
};
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function reader(values: Record<string, string>): (name: string) => string {
  return name => values[name] ?? '';
}

describe('list inputs', () => {
  it('accept newlines, commas, comments and blanks', () => {
    assert.deepEqual(parseList('amd64,arm64'), ['amd64', 'arm64']);
    assert.deepEqual(parseList(' amd64 ,\n arm64\n# a comment\n\n linux/arm/v7 , '), ['amd64', 'arm64', 'linux/arm/v7']);
    assert.deepEqual(parseList(''), []);
    // docker/actions-toolkit's own cases: a quoted field keeps its comma beside other fields, a
    // lone quoted line is split like an unquoted one, and `#` only starts a comment at a line's start.
    assert.deepEqual(parseList('"ghcr.io/acme/bp:a,b",ghcr.io/acme/bp:c'), ['ghcr.io/acme/bp:a,b', 'ghcr.io/acme/bp:c']);
    assert.deepEqual(parseList('linux/amd64\n"linux/arm64,linux/arm/v7"'), ['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    assert.deepEqual(parseList('a#b\n# c\nd', {ignoreComma: true}), ['a#b', 'd']);
    assert.deepEqual(parseList('x=1,2\n"y=3\n4"', {ignoreComma: true}), ['x=1,2', 'y=3\n4']);
    assert.deepEqual(parseLines('a\r\nb,c\n#x'), ['a', 'b,c']);
  });
});

describe('annotations', () => {
  it('take one key=value per line, commas and = belonging to the value, as docker/build-push-action reads them', () => {
    const set = parseAnnotations('a=1,b=2\norg.opencontainers.image.description=Fast, small, arm64-ready\nc=x=y');
    assert.deepEqual(annotationsAt(set, 'index'), {a: '1,b=2', 'org.opencontainers.image.description': 'Fast, small, arm64-ready', c: 'x=y'});
    assert.deepEqual(annotationsAt(set, 'manifest'), {});
  });
  it('apply level prefixes as docker/metadata-action writes them, several comma-joined, and per platform', () => {
    const set = parseAnnotations(
      [
        'manifest:org.opencontainers.image.title=My buildpack',
        'index:org.opencontainers.image.version=1.2.3',
        'index,manifest:org.opencontainers.image.source=https://github.com/acme/bp',
        'manifest-descriptor:org.opencontainers.image.ref.name=x',
        'index-descriptor:io.acme.where=layout',
        'manifest[linux/arm64]:io.acme.only=arm',
        '"index:io.acme.quoted=a, b"',
        '# a comment line'
      ].join('\n')
    );
    const amd64 = {os: 'linux', architecture: 'amd64'};
    const arm64 = {os: 'linux', architecture: 'arm64'};
    assert.deepEqual(annotationsAt(set, 'index'), {
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.source': 'https://github.com/acme/bp',
      'io.acme.quoted': 'a, b'
    });
    assert.deepEqual(annotationsAt(set, 'manifest', amd64), {'org.opencontainers.image.title': 'My buildpack', 'org.opencontainers.image.source': 'https://github.com/acme/bp'});
    assert.deepEqual(annotationsAt(set, 'manifest', arm64), {
      'org.opencontainers.image.title': 'My buildpack',
      'org.opencontainers.image.source': 'https://github.com/acme/bp',
      'io.acme.only': 'arm'
    });
    assert.deepEqual(annotationsAt(set, 'manifest-descriptor', arm64), {'org.opencontainers.image.ref.name': 'x'});
    assert.deepEqual(annotationsAt(set, 'index-descriptor'), {'io.acme.where': 'layout'});
  });
  it('reject an item without a key, an unknown level and a platform on the index, naming only that item', () => {
    assert.throws(() => parseAnnotations('=value'), /Input "annotations" has the item "=value"/);
    assert.throws(
      () => parseAnnotations('a=1\njust text'),
      (e: Error) => /the item "just text"/.test(e.message) && !e.message.includes('a=1')
    );
    assert.throws(() => parseAnnotations('index[linux/amd64]:a=1'), /an index is not per platform/);
    assert.throws(() => parseAnnotations('manifest[plan9]:a=1'), /Input "annotations"/);
  });
});

describe('getInputs', () => {
  it('applies the defaults action.yml declares when nothing is set', () => {
    const defaults = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, v.default ?? '']));
    const env = {RUNNER_TEMP: '/runner/temp'};
    assert.deepEqual(getInputs(reader(defaults), env), getInputs(reader({}), env));
    const inputs = getInputs(reader({}), env);
    assert.equal(inputs.output, '/runner/temp/multiarch-buildpack');
    assert.equal(inputs.build, 'auto');
    assert.equal(inputs.experimental, false);
    assert.equal(inputs.experimentalArchitectures, undefined);
    assert.deepEqual(inputs.architectures, []);
    assert.equal(inputs.version, undefined);
  });

  it('reads every input', () => {
    const inputs = getInputs(
      reader({
        path: 'examples/x',
        architectures: 'amd64\narm64',
        version: '1.2.3',
        output: '/out',
        build: 'command',
        'build-command': 'make',
        experimental: 'True',
        'experimental-architectures': 'arm64',
        annotations: 'k=v'
      }),
      {}
    );
    assert.equal(inputs.path, path.resolve('examples/x'));
    assert.deepEqual(inputs.architectures, ['amd64', 'arm64']);
    assert.equal(inputs.buildCommand, 'make');
    assert.equal(inputs.experimental, true);
    assert.deepEqual(inputs.experimentalArchitectures, ['arm64']);
    assert.deepEqual(inputs.annotations, {items: [{level: 'index', key: 'k', value: 'v'}]});
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{build: 'make'}, /^Input "build" is "make"; use one of auto, command, none\.$/],
    [{build: 'command'}, /"build-command" is empty/],
    [{'build-command': 'make'}, /set build: command/],
    [{experimental: 'yes'}, /^Input "experimental" is "yes"; use true or false\.$/]
  ];
  for (const [values, message] of bad) {
    it(`rejects ${JSON.stringify(values)} in one sentence`, () => {
      assert.throws(
        () => getInputs(reader(values), {}),
        (e: Error) => e.name === 'UserError' && message.test(e.message)
      );
    });
  }
});

describe('action.yml', () => {
  it('declares exactly the inputs the code reads, each documented in the README', () => {
    assert.deepEqual(Object.keys(action.inputs).sort(), [...INPUT_NAMES].sort());
    for (const name of INPUT_NAMES) {
      assert.ok(action.inputs[name].description.length > 10, `${name} has a description`);
      assert.match(readme, new RegExp(`\\| \`${name}\` \\|`), `README documents input ${name}`);
    }
  });
  it('declares the outputs the code sets, each documented in the README', () => {
    for (const name of ['digest', 'manifests', 'layout', 'cnb-files', 'image', 'tags', 'tools', 'smoke', 'metadata']) {
      assert.ok(action.outputs[name], `output ${name}`);
      assert.match(readme, new RegExp(`\\| \`${name}\` \\|`), `README documents output ${name}`);
    }
  });
  it('runs the committed bundle on node24, the post step only after success', () => {
    assert.deepEqual(action.runs, {using: 'node24', main: 'dist/index.js', post: 'dist/index.js', 'post-if': 'success()'});
  });
});

describe('command-line flags', () => {
  it('map to the same inputs', () => {
    assert.deepEqual(parseFlags(['--path', 'x', '--version=1.0.0', '--experimental', '--architectures', 'amd64,arm64']), {
      path: 'x',
      version: '1.0.0',
      experimental: 'true',
      architectures: 'amd64,arm64'
    });
  });
  it('refuse secrets in argv', () => {
    assert.throws(() => parseFlags(['--registry-password', 'hunter2']), /set the REGISTRY_PASSWORD environment variable instead/);
  });
  it('reject unknown flags', () => {
    assert.throws(() => parseFlags(['--pth', 'x']), /unknown argument "--pth"/);
  });
});

describe('the manifests input', () => {
  const entry = (
    architecture: string,
    digest = `sha256:${architecture
      .padEnd(64, 'a')
      .slice(0, 64)
      .replace(/[^a-f0-9]/g, 'a')}`
  ) => ({platform: {os: 'linux', architecture}, digest, size: 404, mediaType: 'application/vnd.oci.image.manifest.v1+json', experimental: architecture !== 'amd64'});
  it('takes each package job output on its own line, or an array of them, and sorts the platforms', () => {
    const amd64 = entry('amd64');
    const arm64 = entry('arm64');
    const fromLines = parseManifestRecords([JSON.stringify([arm64]), JSON.stringify([amd64])]);
    assert.deepEqual(
      fromLines.map(r => r.platform.architecture),
      ['amd64', 'arm64']
    );
    assert.deepEqual(parseManifestRecords([JSON.stringify([[amd64], [arm64]])]), fromLines);
    assert.equal(fromLines[1].experimental, true);
  });
  it('refuses what a package job never writes, naming the problem', () => {
    assert.throws(() => parseManifestRecords([]), /Input "manifests" is empty/);
    assert.throws(() => parseManifestRecords(['not json']), /is not JSON \("not json"\)/);
    assert.throws(() => parseManifestRecords([JSON.stringify([[[entry('amd64')]]])]), /nested deeper than package jobs' outputs/);
    assert.throws(() => parseManifestRecords([JSON.stringify([entry('amd64')]), JSON.stringify([entry('amd64')])]), /lists linux\/amd64 twice/);
    assert.throws(() => parseManifestRecords([JSON.stringify([{...entry('amd64'), digest: 'sha256:xyz'}])]), /whose digest is not sha256:<64 hex digits>/);
    assert.throws(() => parseManifestRecords(['x'.repeat(1024 * 1024 + 1)]), /far more than a package job's output/);
  });
});
