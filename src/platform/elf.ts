import { open } from 'node:fs/promises';
import type { Platform } from './platform.js';

// ELF e_machine values (System V ABI) and the word size each architecture uses.
const MACHINES: Record<string, { machine: number; bits: 32 | 64; littleEndian: boolean; name: string }> = {
  amd64: { machine: 0x3e, bits: 64, littleEndian: true, name: 'x86-64' },
  arm64: { machine: 0xb7, bits: 64, littleEndian: true, name: 'aarch64' },
  arm: { machine: 0x28, bits: 32, littleEndian: true, name: 'ARM' },
  '386': { machine: 0x03, bits: 32, littleEndian: true, name: 'Intel 80386' },
  ppc64le: { machine: 0x15, bits: 64, littleEndian: true, name: 'PowerPC64 (little-endian)' },
  s390x: { machine: 0x16, bits: 64, littleEndian: false, name: 'IBM S/390' },
  riscv64: { machine: 0xf3, bits: 64, littleEndian: true, name: 'RISC-V' },
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
    const { bytesRead } = await handle.read(header, 0, 20, 0);
    return parseElfIdentity(header.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

export function parseElfIdentity(header: Buffer): ElfIdentity | undefined {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const bits = header[4] === 2 ? 64 : 32;
  const littleEndian = header[5] !== 2;
  const machine = littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18);
  return { machine, bits, littleEndian };
}

/** A human name for an ELF identity: `x86-64`, `aarch64`, or the raw machine number. */
export function describeElf(id: ElfIdentity): string {
  const known = Object.values(MACHINES).find(
    (m) => m.machine === id.machine && m.bits === id.bits && m.littleEndian === id.littleEndian,
  );
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
