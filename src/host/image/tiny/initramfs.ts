import { lstat, readFile, readlink } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { writeNewcCpio } from './cpio-newc.js';
import { UDHCPC_SCRIPT } from './dhcp-script.js';
import { readDynamicInfo } from './elf.js';
import { ETC_FILES, GUEST_UID, GUEST_USER } from './guest-etc.js';
import { INIT_SCRIPT } from './init-script.js';
import { JSON_AWK } from './json-awk.js';
import { lz4LegacyFrame } from './lz4-legacy.js';
import { MODULE_GROUPS } from './kernel-modules.js';
import type { ModuleGroup } from './kernel-modules.js';
import { runCommand } from './run-command.js';
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

  /** Creates or re-specifies a directory (implicit parents are plain 0755 root dirs). */
  dir(path: string, mode = 0o755, uid = 0): void {
    if (path === '/') return;
    this.parent(path);
    this.entries.set(path, { kind: 'dir', mode, uid });
  }

  private parent(path: string): void {
    const p = posix.dirname(path);
    if (p === '/' || this.entries.has(p)) return;
    this.parent(p);
    this.entries.set(p, { kind: 'dir', mode: 0o755 });
  }

  file(path: string, data: Buffer | string, mode: number): void {
    this.parent(path);
    this.entries.set(path, { kind: 'file', mode, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data });
  }

  symlink(path: string, target: string): void {
    this.parent(path);
    this.entries.set(path, { kind: 'symlink', target });
  }

  chardev(path: string, mode: number, major: number, minor: number): void {
    this.parent(path);
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
  /** Module files relative to moduleRoot, in load order, per group. */
  moduleLists: Record<ModuleGroup, string[]>;
  /** modules.dep for busybox modprobe. */
  modulesDep: string;
  /** Applet paths (e.g. /usr/bin/awk), or empty to let /init run busybox --install. */
  busyboxApplets: string[];
}

/**
 * Applet paths of the unpacked busybox-static, from the binary itself
 * (it is static, so it runs on any x86_64 host). Links made at build time
 * spare the guest a busybox --install on every boot. Empty when it cannot
 * run here; /init then installs the links itself.
 */
export async function listBusyboxApplets(userlandRoot: string): Promise<string[]> {
  const busybox = await resolveInRoot(userlandRoot, BUSYBOX);
  if (!busybox) return [];
  try {
    const { stdout } = await runCommand([busybox, '--list-full'], { timeoutMs: 10_000, env: {} });
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[a-z0-9/._[-]+$/.test(l) && !l.includes('..'))
      .map((l) => `/${l}`);
  } catch {
    return [];
  }
}

/** Builds the LZ4-compressed newc initramfs; returns it and its uncompressed size. */
export async function buildInitramfs(inp: InitramfsInputs): Promise<{ image: Buffer; cpioSize: number }> {
  const tree = new Tree();
  // Made here rather than by /init: every mkdir/chown there is a process, ~15 ms under TCG.
  for (const d of ['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/proc', '/sys', '/dev', '/run/stacklet/datasource', '/mnt/config-2', '/var/log', '/var/lib/cloud', '/etc/dropbear']) tree.dir(d);
  tree.dir('/tmp', 0o1777);
  tree.dir('/root', 0o700);
  tree.dir(`/home/${GUEST_USER}`, 0o755, GUEST_UID);
  tree.dir(`/home/${GUEST_USER}/.ssh`, 0o700, GUEST_UID);
  // The kernel opens /dev/console for /init before devtmpfs is mounted.
  tree.chardev('/dev/console', 0o600, 5, 1);
  tree.chardev('/dev/null', 0o666, 1, 3);

  const busybox = await resolveInRoot(inp.userlandRoot, BUSYBOX);
  if (!busybox) throw new Error('busybox-static did not unpack /bin/busybox');
  const bb = await readFile(busybox);
  if (readDynamicInfo(bb, BUSYBOX).interpreter) throw new Error('/bin/busybox is not static: the guest needs busybox-static');
  // Setuid, as busybox is made to be installed: ping for the cirros user
  // needs a raw socket (this busybox's ping has no fallback to ICMP datagram
  // sockets), and Debian's build (FEATURE_SUID) drops root at start for
  // every applet that does not need it (sh, id... run as the caller with no
  // capabilities, checked). One binary: a setuid copy for ping alone cost
  // ~1.3 MB, past the 20 MB kernel + initramfs budget.
  tree.file(BUSYBOX, bb, 0o4755);
  for (const applet of inp.busyboxApplets) {
    if (applet !== BUSYBOX && !tree.entries.has(applet)) tree.symlink(applet, BUSYBOX);
  }
  // Scripts and dropbear need /bin/sh even when /init has to install the links itself.
  if (!tree.entries.has('/bin/sh')) tree.symlink('/bin/sh', 'busybox');

  for (const exe of DROPBEAR_BINARIES) await addDynamicExecutable(tree, inp.userlandRoot, exe);

  const modDir = `/lib/modules/${inp.kernelRelease}`;
  for (const [group, list] of Object.entries(inp.moduleLists)) {
    for (const rel of list) {
      if (!tree.entries.has(`${modDir}/${rel}`)) tree.file(`${modDir}/${rel}`, await readFile(join(inp.moduleRoot, rel)), 0o644);
    }
    // Names for one `modprobe -a` (one process); paths in load order for the insmod fallback.
    const wanted = MODULE_GROUPS[group as ModuleGroup];
    tree.file(`/etc/stacklet/modules.${group}.wanted`, `${wanted.join(' ')}\n`, 0o644);
    tree.file(`/etc/stacklet/modules.${group}`, list.map((l) => `${modDir}/${l}\n`).join(''), 0o644);
  }
  tree.file(`${modDir}/modules.dep`, inp.modulesDep, 0o644);

  for (const [path, f] of Object.entries(ETC_FILES)) tree.file(path, f.text, f.mode);
  tree.file('/etc/stacklet/json.awk', JSON_AWK, 0o644);
  tree.file('/etc/stacklet/udhcpc.script', UDHCPC_SCRIPT, 0o755);
  tree.file('/init', INIT_SCRIPT, 0o755);

  const cpio = writeNewcCpio(tree.entries);
  return { image: lz4LegacyFrame(cpio), cpioSize: cpio.length };
}

