import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {commandEnv} from '../../src/compile/compile.js';
import {chooseStrategy} from '../../src/compile/strategy.js';
import type {SourceEntry} from '../../src/buildpack/files.js';
import {parsePlatform} from '../../src/platform/platform.js';

const platforms = ['amd64', 'arm64'].map(a => parsePlatform(a, 'x'));
const file = (p: string): SourceEntry => ({path: p, type: 'file', source: `/s/${p}`, executable: true, size: 1});

describe('build strategy (build: auto)', () => {
  it('uses shipped linux/<arch>/bin when every target has one', () => {
    const source = [file('linux/amd64/bin/run'), file('linux/arm64/bin/run'), file('go.mod'), file('cmd/run/main.go')];
    assert.deepEqual(chooseStrategy('auto', undefined, source, platforms, '/bp', false), {kind: 'prebuilt'});
  });
  it('cross-compiles cmd/ with Go when a target lacks binaries', () => {
    const source = [file('linux/amd64/bin/run'), file('go.mod'), file('cmd/run/main.go'), file('cmd/run/main_test.go'), file('cmd/helper/x.go'), file('cmd/README.md')];
    assert.deepEqual(chooseStrategy('auto', undefined, source, platforms, '/bp', false), {
      kind: 'go',
      commands: [
        {name: 'helper', pkg: './cmd/helper'},
        {name: 'run', pkg: './cmd/run'}
      ]
    });
    const packit = [file('go.mod'), file('run/main.go'), file('cmd/tool/main.go')];
    assert.deepEqual(
      chooseStrategy('auto', undefined, packit, platforms, '/bp', false),
      {
        kind: 'go',
        commands: [
          {name: 'run', pkg: './run'},
          {name: 'tool', pkg: './cmd/tool'}
        ]
      },
      "packit's top-level run/"
    );
  });
  it('falls back to architecture-independent bin/ scripts', () => {
    assert.deepEqual(chooseStrategy('auto', undefined, [file('bin/detect'), file('bin/build')], platforms, '/bp', false), {kind: 'scripts'});
  });
  it('builds nothing for a composite, and obeys command and none', () => {
    assert.deepEqual(chooseStrategy('auto', undefined, [], platforms, '/bp', true), {kind: 'none'});
    assert.deepEqual(chooseStrategy('command', 'make', [], platforms, '/bp', false), {kind: 'command', command: 'make'});
    assert.deepEqual(chooseStrategy('none', undefined, [], platforms, '/bp', false), {kind: 'none'});
  });
  it('says what it looked for when there is nothing to build', () => {
    assert.throws(() => chooseStrategy('auto', undefined, [file('README.md')], platforms, '/bp', false), /Found nothing to build \/bp for linux\/amd64, linux\/arm64/);
  });
});

describe('build-command environment', () => {
  it('names the target in plain and Go terms, and where to write', () => {
    const env = commandEnv(parsePlatform('linux/arm/v7', 'x'), '/work/roots/linux/arm/v7');
    assert.equal(env.TARGET_OS, 'linux');
    assert.equal(env.TARGET_ARCH, 'arm');
    assert.equal(env.TARGET_VARIANT, 'v7');
    assert.equal(env.GOOS, 'linux');
    assert.equal(env.GOARCH, 'arm');
    assert.equal(env.GOARM, '7');
    assert.equal(env.OUTPUT_DIR, '/work/roots/linux/arm/v7');
    assert.equal(commandEnv(parsePlatform('arm64', 'x'), '/o').TARGET_VARIANT, '');
  });
});
