/**
 * Just enough ELF64 (little-endian, x86_64) reading to collect what a guest
 * binary needs: its interpreter, its DT_NEEDED libraries, and a kernel
 * module's .modinfo. Reading the files ourselves keeps the build free of
 * binutils and never runs a guest binary on the host.
 */

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

interface ProgramHeader {
  type: number;
  offset: number;
  vaddr: bigint;
  filesz: number;
}

function assertElf64(buf: Buffer, what: string): void {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${what}: not an ELF file`);
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`${what}: only little-endian ELF64 is supported`);
}

function cString(buf: Buffer, offset: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 ? buf.length : end);
}

function programHeaders(buf: Buffer): ProgramHeader[] {
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const out: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    out.push({
      type: buf.readUInt32LE(at),
      offset: Number(buf.readBigUInt64LE(at + 8)),
      vaddr: buf.readBigUInt64LE(at + 16),
      filesz: Number(buf.readBigUInt64LE(at + 32)),
    });
  }
  return out;
}

/** What the dynamic loader needs to run this executable or library. */
export interface DynamicInfo {
  /** PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2; undefined for libraries and static binaries. */
  interpreter: string | undefined;
  /** DT_NEEDED sonames. */
  needed: string[];
}

/** Reads PT_INTERP and DT_NEEDED of an ELF64 executable or shared object. */
export function readDynamicInfo(buf: Buffer, what = 'ELF'): DynamicInfo {
  assertElf64(buf, what);
  const phdrs = programHeaders(buf);
  const interpHdr = phdrs.find((p) => p.type === PT_INTERP);
  const interpreter = interpHdr ? cString(buf, interpHdr.offset) : undefined;
  const dyn = phdrs.find((p) => p.type === PT_DYNAMIC);
  if (!dyn) return { interpreter, needed: [] };

  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  const toOffset = (vaddr: bigint): number => {
    for (const l of loads) {
      if (vaddr >= l.vaddr && vaddr < l.vaddr + BigInt(l.filesz)) return l.offset + Number(vaddr - l.vaddr);
    }
    throw new Error(`${what}: address 0x${vaddr.toString(16)} is not in a loaded segment`);
  };

  const neededOffsets: bigint[] = [];
  let strtab: bigint | undefined;
  for (let at = dyn.offset; at + 16 <= dyn.offset + dyn.filesz; at += 16) {
    const tag = buf.readBigInt64LE(at);
    const val = buf.readBigUInt64LE(at + 8);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(val);
    else if (tag === DT_STRTAB) strtab = val;
  }
  if (neededOffsets.length === 0) return { interpreter, needed: [] };
  if (strtab === undefined) throw new Error(`${what}: DT_NEEDED without DT_STRTAB`);
  const strOff = toOffset(strtab);
  return { interpreter, needed: neededOffsets.map((o) => cString(buf, strOff + Number(o))) };
}

/** Reads the key=value pairs of a kernel module's .modinfo section (keys may repeat). */
export function readModinfo(buf: Buffer, what = 'module'): Array<[string, string]> {
  assertElf64(buf, what);
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const section = (i: number): { name: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    return {
      name: buf.readUInt32LE(at),
      offset: Number(buf.readBigUInt64LE(at + 24)),
      size: Number(buf.readBigUInt64LE(at + 32)),
    };
  };
  const names = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (cString(buf, names.offset + s.name) !== '.modinfo') continue;
    const out: Array<[string, string]> = [];
    for (const item of buf.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      const eq = item.indexOf('=');
      if (eq > 0) out.push([item.slice(0, eq), item.slice(eq + 1)]);
    }
    return out;
  }
  throw new Error(`${what}: no .modinfo section`);
}
