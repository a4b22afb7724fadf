import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {parseElfIdentity, describeElf, elfMatchesPlatform} from '../../src/platform/elf.js';
import {formatPlatform, goEnvironment, parsePlatform, parsePlatformList, platformSlug} from '../../src/platform/platform.js';

describe('platform normalisation', () => {
  const cases: [string, string][] = [
    ['amd64', 'linux/amd64'],
    ['x86_64', 'linux/amd64'],
    ['linux/amd64', 'linux/amd64'],
    ['arm64', 'linux/arm64'],
    ['aarch64', 'linux/arm64'],
    ['linux/arm64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['LINUX/ARM64', 'linux/arm64'],
    ['arm', 'linux/arm/v7'],
    ['armhf', 'linux/arm/v7'],
    ['armel', 'linux/arm/v6'],
    ['linux/arm/v7', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['i386', 'linux/386'],
    ['ppc64le', 'linux/ppc64le'],
    ['s390x', 'linux/s390x'],
    [' riscv64 ', 'linux/riscv64']
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => assert.equal(formatPlatform(parsePlatform(input, 'test')), expected));
  }

  for (const bad of ['sparc', 'linux/sparc', 'windows/amd64', 'linux/amd64/v2', 'linux/arm/v9', 'a/b/c/d', '']) {
    it(`rejects "${bad}" with a sentence naming the input`, () => {
      assert.throws(
        () => parsePlatform(bad, 'Input "architectures"'),
        (e: Error) => e.name === 'UserError' && e.message.startsWith('Input "architectures"')
      );
    });
  }

  it('rejects duplicates after normalisation', () => {
    assert.throws(() => parsePlatformList(['arm64', 'aarch64'], 'Input "architectures"'), /linux\/arm64 twice/);
  });

  it('sorts into index order whatever the input order', () => {
    assert.deepEqual(parsePlatformList(['s390x', 'arm64', 'linux/arm/v7', 'amd64'], 'x').map(formatPlatform), ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x']);
  });

  it('names files and Go environments', () => {
    const armv7 = parsePlatform('linux/arm/v7', 'x');
    assert.equal(platformSlug(armv7), 'linux-arm-v7');
    assert.deepEqual(goEnvironment(armv7), {GOOS: 'linux', GOARCH: 'arm', GOARM: '7'});
    assert.deepEqual(goEnvironment(parsePlatform('arm64', 'x')), {GOOS: 'linux', GOARCH: 'arm64'});
  });
});

describe('ELF identity', () => {
  function header(cls: number, data: number, machine: number): Buffer {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(0x7f454c46, 0);
    b[4] = cls;
    b[5] = data;
    if (data === 1) b.writeUInt16LE(machine, 18);
    else b.writeUInt16BE(machine, 18);
    return b;
  }
  it('tells x86-64 from aarch64 and matches platforms', () => {
    const x86 = parseElfIdentity(header(2, 1, 0x3e));
    const arm = parseElfIdentity(header(2, 1, 0xb7));
    assert.ok(x86 && arm);
    assert.equal(describeElf(x86), 'x86-64');
    assert.equal(describeElf(arm), 'aarch64');
    assert.ok(elfMatchesPlatform(x86, parsePlatform('amd64', 'x')));
    assert.ok(!elfMatchesPlatform(x86, parsePlatform('arm64', 'x')));
    assert.ok(elfMatchesPlatform(arm, parsePlatform('arm64', 'x')));
  });
  it('reads big-endian machines (s390x) and ignores non-ELF files', () => {
    const s390 = parseElfIdentity(header(2, 2, 0x16));
    assert.ok(s390 && elfMatchesPlatform(s390, parsePlatform('s390x', 'x')));
    assert.equal(parseElfIdentity(Buffer.from('#!/bin/sh\necho hello world\n')), undefined);
  });
  it('rejects a 32-bit ARM binary for arm64', () => {
    const arm32 = parseElfIdentity(header(1, 1, 0x28));
    assert.ok(arm32 && !elfMatchesPlatform(arm32, parsePlatform('arm64', 'x')));
    assert.ok(elfMatchesPlatform(arm32, parsePlatform('linux/arm/v7', 'x')));
  });
});
