import { access, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './run-command.js';

/**
 * A BIOS-bootable disk: MBR (SYSLINUX's mbr.bin) + one FAT16 partition at
 * 1 MiB holding SYSLINUX, the kernel and the initramfs. The FAT image is
 * made on its own with dosfstools/mtools/syslinux (no loop devices, no
 * mounts, no root needed), then placed behind an MBR written here.
 */

const SECTOR = 512;
const PART_START_LBA = 2048;
const MIB = 1024 * 1024;
/** Host files this step needs; scripts/deps-debian.txt lists their packages. */
export const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';
const HOST_TOOLS = [
  ['mkfs.vfat', 'dosfstools'],
  ['mcopy', 'mtools'],
  ['syslinux', 'syslinux'],
  ['qemu-img', 'qemu-utils'],
] as const;

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, cmd);
    if (await access(p).then(() => true, () => false)) return p;
  }
  return undefined;
}

/** Fails with the packages to install when a build tool is missing. */
export async function checkDiskTools(): Promise<void> {
  const missing: string[] = [];
  for (const [cmd, pkg] of HOST_TOOLS) if (!(await which(cmd))) missing.push(pkg);
  if (!(await access(SYSLINUX_MBR).then(() => true, () => false))) missing.push('syslinux-common');
  if (missing.length > 0) {
    throw new Error(`building the tiny guest disk needs host packages: apt-get install -y ${missing.join(' ')} (see scripts/deps-debian.txt)`);
  }
}

function chs(lba: number): [number, number, number] {
  const c = Math.floor(lba / (255 * 63));
  if (c > 1023) return [254, 0xff, 0xff];
  const h = Math.floor(lba / 63) % 255;
  const s = (lba % 63) + 1;
  return [h, (s & 0x3f) | ((c >> 2) & 0xc0), c & 0xff];
}

function mbr(bootCode: Buffer, partSectors: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  bootCode.copy(b, 0, 0, Math.min(440, bootCode.length));
  b.writeUInt32LE(0x53544b4c, 440); // fixed disk signature, so builds are reproducible
  const e = 446;
  b[e] = 0x80; // active: SYSLINUX's MBR boots the active partition
  b.set(chs(PART_START_LBA), e + 1);
  b[e + 4] = 0x0e; // FAT16, LBA
  b.set(chs(PART_START_LBA + partSectors - 1), e + 5);
  b.writeUInt32LE(PART_START_LBA, e + 8);
  b.writeUInt32LE(partSectors, e + 12);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** What goes on the disk. */
export interface BootDiskInputs {
  workDir: string;
  kernel: string;
  initramfs: string;
  cmdline: string;
  /** Output path of the qcow2 image. */
  out: string;
}

/** Builds the qcow2 disk; returns its virtual size in bytes. */
export async function buildBootDisk(inp: BootDiskInputs): Promise<number> {
  await checkDiskTools();
  const kernelSize = (await stat(inp.kernel)).size;
  const initrdSize = (await stat(inp.initramfs)).size;
  // Room for FAT tables, ldlinux and a kernel or initramfs that grows a little.
  const partBytes = Math.max(16 * MIB, Math.ceil((kernelSize + initrdSize) * 1.08 / MIB + 1) * MIB);
  const partSectors = partBytes / SECTOR;

  const fat = join(inp.workDir, 'fat.img');
  await rm(fat, { force: true });
  await writeFile(fat, '');
  await truncate(fat, partBytes);
  // -h: hidden sectors = partition start, which the SYSLINUX boot sector adds to every read.
  await runCommand(['mkfs.vfat', '-F', '16', '-n', 'STACKLET', '-h', String(PART_START_LBA), '-i', '53544b4c', '--invariant', fat]);
  const cfg = join(inp.workDir, 'syslinux.cfg');
  await writeFile(
    cfg,
    ['SERIAL 0 115200', 'DEFAULT stacklet', 'PROMPT 0', 'TIMEOUT 0', 'LABEL stacklet', '  LINUX /vmlinuz', '  INITRD /initrd.img', `  APPEND ${inp.cmdline}`, ''].join('\n'),
  );
  const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  await runCommand(['syslinux', '--install', fat], { env: mtoolsEnv });
  await runCommand(['mcopy', '-i', fat, inp.kernel, '::vmlinuz'], { env: mtoolsEnv });
  await runCommand(['mcopy', '-i', fat, inp.initramfs, '::initrd.img'], { env: mtoolsEnv });
  await runCommand(['mcopy', '-i', fat, cfg, '::syslinux.cfg'], { env: mtoolsEnv });

  const raw = join(inp.workDir, 'disk.raw');
  const total = PART_START_LBA * SECTOR + partBytes;
  const fh = await open(raw, 'w');
  try {
    await fh.truncate(total);
    await fh.write(mbr(await readFile(SYSLINUX_MBR), partSectors), 0, SECTOR, 0);
    await fh.write(await readFile(fat), 0, partBytes, PART_START_LBA * SECTOR);
  } finally {
    await fh.close();
  }
  await rm(inp.out, { force: true });
  await runCommand(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, inp.out]);
  await rm(raw, { force: true });
  await rm(fat, { force: true });
  return total;
}
