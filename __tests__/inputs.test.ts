import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { getInputs, parseAnnotations } from '../src/inputs/inputs.js';
import { parseLines, parseList } from '../src/inputs/list.js';
import { INPUT_NAMES } from '../src/inputs/names.js';
import { parseFlags } from '../src/inputs/flags.js';
import { ROOT } from './helpers/paths.js';

const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
};
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function reader(values: Record<string, string>): (name: string) => string {
  return (name) => values[name] ?? '';
}

describe('list inputs', () => {
  it('accept newlines, commas, comments and blanks', () => {
    assert.deepEqual(parseList('amd64,arm64'), ['amd64', 'arm64']);
    assert.deepEqual(parseList(' amd64 ,\n arm64\n# a comment\n\n linux/arm/v7 , '), ['amd64', 'arm64', 'linux/arm/v7']);
    assert.deepEqual(parseList(''), []);
    assert.deepEqual(parseLines('a\r\nb,c\n#x'), ['a', 'b,c']);
  });
});

describe('annotations', () => {
  it('parse key=value items on lines or after commas, keeping commas inside values', () => {
    assert.deepEqual(parseAnnotations('a=1,b=2\norg.opencontainers.image.description=Fast, small, arm64-ready\nc=x=y'), {
      a: '1',
      b: '2',
      'org.opencontainers.image.description': 'Fast, small, arm64-ready',
      c: 'x=y',
    });
  });
  it('reject an item without a key', () => {
    assert.throws(() => parseAnnotations('=value'), /Input "annotations" has the item "=value"/);
    assert.throws(() => parseAnnotations('just text'), /Input "annotations"/);
  });
});

describe('getInputs', () => {
  it('applies the defaults action.yml declares when nothing is set', () => {
    const defaults = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, v.default ?? '']));
    const env = { RUNNER_TEMP: '/runner/temp' };
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
        annotations: 'k=v',
      }),
      {},
    );
    assert.equal(inputs.path, path.resolve('examples/x'));
    assert.deepEqual(inputs.architectures, ['amd64', 'arm64']);
    assert.equal(inputs.buildCommand, 'make');
    assert.equal(inputs.experimental, true);
    assert.deepEqual(inputs.experimentalArchitectures, ['arm64']);
    assert.deepEqual(inputs.annotations, { k: 'v' });
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ build: 'make' }, /^Input "build" is "make"; use one of auto, command, none\.$/],
    [{ build: 'command' }, /"build-command" is empty/],
    [{ 'build-command': 'make' }, /set build: command/],
    [{ experimental: 'yes' }, /^Input "experimental" is "yes"; use true or false\.$/],
  ];
  for (const [values, message] of bad) {
    it(`rejects ${JSON.stringify(values)} in one sentence`, () => {
      assert.throws(() => getInputs(reader(values), {}), (e: Error) => e.name === 'InputError' && message.test(e.message));
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
    assert.deepEqual(action.runs, { using: 'node24', main: 'dist/index.js', post: 'dist/index.js', 'post-if': 'success()' });
  });
});

describe('command-line flags', () => {
  it('map to the same inputs', () => {
    assert.deepEqual(parseFlags(['--path', 'x', '--version=1.0.0', '--experimental', '--architectures', 'amd64,arm64']), {
      path: 'x',
      version: '1.0.0',
      experimental: 'true',
      architectures: 'amd64,arm64',
    });
  });
  it('refuse secrets in argv', () => {
    assert.throws(() => parseFlags(['--registry-password', 'hunter2']), /set the REGISTRY_PASSWORD environment variable instead/);
  });
  it('reject unknown flags', () => {
    assert.throws(() => parseFlags(['--pth', 'x']), /unknown argument "--pth"/);
  });
});
