import {closeSync, openSync, readSync} from 'node:fs';
import {open} from 'node:fs/promises';
import type {Platform} from './platform.js';

// ELF e_machine values (System V ABI) and the word size each architecture uses.
const MACHINES: Record<string, {machine: number; bits: 32 | 64; littleEndian: boolean; name: string}> = {
  amd64: {machine: 0x3e, bits: 64, littleEndian: true, name: 'x86-64'},
  arm64: {machine: 0xb7, bits: 64, littleEndian: true, name: 'aarch64'},
  arm: {machine: 0x28, bits: 32, littleEndian: true, name: 'ARM'},
  '386': {machine: 0x03, bits: 32, littleEndian: true, name: 'Intel 80386'},
  ppc64le: {machine: 0x15, bits: 64, littleEndian: true, name: 'PowerPC64 (little-endian)'},
  s390x: {machine: 0x16, bits: 64, littleEndian: false, name: 'IBM S/390'},
  riscv64: {machine: 0xf3, bits: 64, littleEndian: true, name: 'RISC-V'}
};

export interface ElfIdentity {
  machine: number;
  bits: 32 | 64;
  littleEndian: boolean;
}

/** Reads the ELF identity of a file, or undefined when it is not an ELF file. */
export async function readElfIdentity(file: string): Promise<ElfIdentity | undefined> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(20);
    const {bytesRead} = await handle.read(header, 0, 20, 0);
    return parseElfIdentity(header.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/**
 * The same, read synchronously: for checking every file of a tree, where a promise and three
 * thread-pool round trips per file would cost more than the read itself.
 */
export function readElfIdentitySync(file: string): ElfIdentity | undefined {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(20);
    const bytesRead = readSync(fd, header, 0, 20, 0);
    return parseElfIdentity(header.subarray(0, bytesRead));
  } finally {
    closeSync(fd);
  }
}

/** The ELF identity in `length` bytes of `header` at `offset`, or undefined when they are not an ELF header. */
export function parseElfIdentity(header: Buffer, offset = 0, length = header.length - offset): ElfIdentity | undefined {
  if (length < 20 || header.readUInt32BE(offset) !== 0x7f454c46) return undefined;
  const bits = header[offset + 4] === 2 ? 64 : 32;
  const littleEndian = header[offset + 5] !== 2;
  const machine = littleEndian ? header.readUInt16LE(offset + 18) : header.readUInt16BE(offset + 18);
  return {machine, bits, littleEndian};
}

/** A human name for an ELF identity: `x86-64`, `aarch64`, or the raw machine number. */
export function describeElf(id: ElfIdentity): string {
  const known = Object.values(MACHINES).find(m => m.machine === id.machine && m.bits === id.bits && m.littleEndian === id.littleEndian);
  return known ? known.name : `machine 0x${id.machine.toString(16)} (${id.bits}-bit)`;
}

/** Whether an ELF identity runs on the platform. */
export function elfMatchesPlatform(id: ElfIdentity, platform: Platform): boolean {
  const want = MACHINES[platform.architecture];
  if (!want) return false;
  return want.machine === id.machine && want.bits === id.bits && want.littleEndian === id.littleEndian;
}

export function expectedElfName(platform: Platform): string {
  return MACHINES[platform.architecture]?.name ?? platform.architecture;
}
