import { lstat, readFile, readlink } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { writeNewcCpio } from './cpio-newc.js';
import { UDHCPC_SCRIPT } from './dhcp-script.js';
import { readDynamicInfo } from './elf.js';
import { ETC_FILES, GUEST_USER } from './guest-etc.js';
import { INIT_SCRIPT } from './init-script.js';
import { JSON_AWK } from './json-awk.js';
import { lz4LegacyFrame } from './lz4-legacy.js';
import type { TreeEntry } from './types.js';

/** Dynamic executables taken from dropbear-bin (guest path = path in the package). */
export const DROPBEAR_BINARIES = ['/usr/sbin/dropbear', '/usr/bin/dropbearkey'] as const;
const BUSYBOX = '/bin/busybox';
const LIB_DIR = '/lib/x86_64-linux-gnu';
const LIB_SEARCH = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/lib', '/usr/lib'];

/**
 * Follows symlinks of a path inside an unpacked package root. Absolute
 * targets (libc6 ships /lib64/ld-linux-x86-64.so.2 → /lib/...) point into
 * the root, never at the host's own files.
 */
async function resolveInRoot(root: string, guestPath: string): Promise<string | undefined> {
  let p = posix.normalize(guestPath);
  for (let hops = 0; hops < 40; hops++) {
    const st = await lstat(join(root, p)).catch(() => undefined);
    if (!st) return undefined;
    if (!st.isSymbolicLink()) return st.isFile() ? join(root, p) : undefined;
    const target = await readlink(join(root, p));
    p = posix.normalize(target.startsWith('/') ? target : posix.join(posix.dirname(p), target));
  }
  throw new Error(`symlink loop at ${guestPath} in ${root}`);
}

class Tree {
  readonly entries = new Map<string, TreeEntry>();

  dir(path: string, mode = 0o755): void {
    if (path === '/' || this.entries.has(path)) return;
    this.dir(posix.dirname(path));
    this.entries.set(path, { kind: 'dir', mode });
  }

  file(path: string, data: Buffer | string, mode: number): void {
    this.dir(posix.dirname(path));
    this.entries.set(path, { kind: 'file', mode, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data });
  }

  symlink(path: string, target: string): void {
    this.dir(posix.dirname(path));
    this.entries.set(path, { kind: 'symlink', target });
  }

  chardev(path: string, mode: number, major: number, minor: number): void {
    this.dir(posix.dirname(path));
    this.entries.set(path, { kind: 'chardev', mode, major, minor });
  }
}

/** Adds a dynamic executable and, transitively, every library it needs. */
async function addDynamicExecutable(tree: Tree, userland: string, guestPath: string): Promise<void> {
  const hostPath = await resolveInRoot(userland, guestPath);
  if (!hostPath) throw new Error(`${guestPath} is missing from the unpacked packages`);
  const data = await readFile(hostPath);
  tree.file(guestPath, data, 0o755);
  const { interpreter, needed } = readDynamicInfo(data, guestPath);
  if (interpreter && !tree.entries.has(interpreter)) {
    const interp = await resolveInRoot(userland, interpreter);
    if (!interp) throw new Error(`interpreter ${interpreter} of ${guestPath} is missing from the unpacked libc6`);
    tree.file(interpreter, await readFile(interp), 0o755);
  }
  const queue = [...needed];
  const interpName = interpreter ? basename(interpreter) : undefined;
  while (queue.length > 0) {
    const soname = queue.shift();
    if (soname === undefined || soname === interpName) continue;
    const dest = `${LIB_DIR}/${soname}`;
    if (tree.entries.has(dest)) continue;
    let found: string | undefined;
    for (const dir of LIB_SEARCH) {
      found = await resolveInRoot(userland, `${dir}/${soname}`);
      if (found) break;
    }
    if (!found) throw new Error(`${soname} (needed by ${guestPath}) is in none of the unpacked packages`);
    const lib = await readFile(found);
    tree.file(dest, lib, 0o755);
    queue.push(...readDynamicInfo(lib, soname).needed);
  }
}

/** Inputs of the initramfs: unpacked package roots and the module load lists. */
export interface InitramfsInputs {
  /** Directory where every userland .deb was unpacked. */
  userlandRoot: string;
  /** lib/modules/<release> of the unpacked kernel package. */
  moduleRoot: string;
  kernelRelease: string;
  /** Module files relative to moduleRoot, in load order, per list name. */
  moduleLists: { boot: string[]; scsi: string[]; configdrive: string[] };
}

/** Builds the LZ4-compressed newc initramfs; returns it and its uncompressed size. */
export async function buildInitramfs(inp: InitramfsInputs): Promise<{ image: Buffer; cpioSize: number }> {
  const tree = new Tree();
  for (const d of ['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/etc', '/proc', '/sys', '/dev', '/run', '/mnt', '/var/log', '/var/lib']) tree.dir(d);
  tree.dir('/tmp', 0o1777);
  tree.dir('/root', 0o700);
  tree.dir(`/home/${GUEST_USER}`);
  // The kernel opens /dev/console for /init before devtmpfs is mounted.
  tree.chardev('/dev/console', 0o600, 5, 1);
  tree.chardev('/dev/null', 0o666, 1, 3);

  const busybox = await resolveInRoot(inp.userlandRoot, BUSYBOX);
  if (!busybox) throw new Error('busybox-static did not unpack /bin/busybox');
  const bb = await readFile(busybox);
  if (readDynamicInfo(bb, BUSYBOX).interpreter) throw new Error('/bin/busybox is not static: the guest needs busybox-static');
  tree.file(BUSYBOX, bb, 0o755);
  // /bin/sh must exist before /init installs the applet links (dropbear and scripts use it).
  tree.symlink('/bin/sh', 'busybox');

  for (const exe of DROPBEAR_BINARIES) await addDynamicExecutable(tree, inp.userlandRoot, exe);

  for (const [name, list] of Object.entries(inp.moduleLists)) {
    for (const rel of list) {
      tree.file(`/lib/modules/${inp.kernelRelease}/${rel}`, await readFile(join(inp.moduleRoot, rel)), 0o644);
    }
    tree.file(`/etc/stacklet/modules.${name}`, list.map((l) => `${l}\n`).join(''), 0o644);
  }

  for (const [path, f] of Object.entries(ETC_FILES)) tree.file(path, f.text, f.mode);
  tree.file('/etc/stacklet/json.awk', JSON_AWK, 0o644);
  tree.file('/etc/stacklet/udhcpc.script', UDHCPC_SCRIPT, 0o755);
  tree.file('/init', INIT_SCRIPT, 0o755);

  const cpio = writeNewcCpio(tree.entries);
  return { image: lz4LegacyFrame(cpio), cpioSize: cpio.length };
}

