import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { TINY_GUEST_CMDLINE } from './boot-config.js';
import { StaleListsError, downloadPackages, pruneDebs, resolvePackagesCached, unpackDeb } from './debian-packages.js';
import { UDHCPC_SCRIPT } from './dhcp-script.js';
import { buildBootDisk } from './disk-image.js';
import { ETC_FILES } from './guest-etc.js';
import { INIT_SCRIPT } from './init-script.js';
import { buildInitramfs, listBusyboxApplets } from './initramfs.js';
import { JSON_AWK } from './json-awk.js';
import { MODULE_GROUPS, ModuleTree } from './kernel-modules.js';
import type { ModuleGroup } from './kernel-modules.js';
import type { BuildTinyGuestOptions, TinyGuest } from './types.js';

/**
 * Bump when the build itself changes in a way the hashed inputs do not
 * show (layout, disk format, cpio writer...), so caches rebuild.
 */
export const TINY_GUEST_BUILDER_VERSION = 7;

const MANIFEST = 'manifest.json';
const BUILD_PREFIX = 'build-';

function inputsHash(versions: ReadonlyMap<string, string>): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      builder: TINY_GUEST_BUILDER_VERSION,
      packages: [...versions].sort(([a], [b]) => (a < b ? -1 : 1)),
      init: INIT_SCRIPT,
      udhcpc: UDHCPC_SCRIPT,
      json: JSON_AWK,
      etc: ETC_FILES,
      cmdline: TINY_GUEST_CMDLINE,
      modules: MODULE_GROUPS,
    }),
  );
  return h.digest('hex');
}

function isTinyGuest(v: unknown): v is TinyGuest {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.kernel === 'string' &&
    typeof o.initramfs === 'string' &&
    typeof o.disk === 'string' &&
    (o.diskFormat === 'qcow2' || o.diskFormat === 'raw') &&
    typeof o.cmdline === 'string' &&
    typeof o.inputsHash === 'string' &&
    typeof o.sizes === 'object' &&
    o.sizes !== null
  );
}

async function readCached(dir: string, hash: string): Promise<TinyGuest | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8'));
    if (!isTinyGuest(parsed) || parsed.inputsHash !== hash) return undefined;
    for (const p of [parsed.kernel, parsed.initramfs, parsed.disk]) await stat(p);
    return parsed;
  } catch {
    return undefined;
  }
}

/**
 * Builds Stacklet's tiny guest (Debian cloud kernel + busybox/dropbear
 * initramfs, and a SYSLINUX disk image holding both) into cacheDir, or
 * returns the cached build when nothing it depends on changed.
 */
export async function buildTinyGuest(opts: BuildTinyGuestOptions): Promise<TinyGuest> {
  try {
    return await buildOnce(opts);
  } catch (err) {
    // Lists were refreshed: new versions, a new hash, maybe a cached build.
    if (err instanceof StaleListsError) return buildOnce(opts);
    throw err;
  }
}

async function buildOnce(opts: BuildTinyGuestOptions): Promise<TinyGuest> {
  const progress = opts.onProgress ?? (() => undefined);
  const cacheDir = resolve(opts.cacheDir);
  if (!isAbsolute(cacheDir)) throw new Error(`cacheDir must resolve to an absolute path: ${opts.cacheDir}`);
  await mkdir(cacheDir, { recursive: true });

  progress('resolving package versions');
  const { kernelPackage, versions } = await resolvePackagesCached(cacheDir, progress);
  const hash = inputsHash(versions);
  const outDir = join(cacheDir, `${BUILD_PREFIX}${hash.slice(0, 16)}`);
  if (!opts.force) {
    const cached = await readCached(outDir, hash);
    if (cached) {
      progress(`cached build ${hash.slice(0, 16)} is up to date`);
      return cached;
    }
  }

  const debDir = join(cacheDir, 'debs');
  const debs = await downloadPackages(debDir, versions, progress);
  const work = await mkdtemp(join(cacheDir, 'tmp-'));
  try {
    progress(`unpacking ${debs.size} packages`);
    const kernelRoot = join(work, 'kernel');
    const userlandRoot = join(work, 'userland');
    for (const [name, deb] of debs) await unpackDeb(deb, name === kernelPackage ? kernelRoot : userlandRoot);

    const modules = await ModuleTree.open(kernelRoot);
    const moduleLists = {} as Record<ModuleGroup, string[]>;
    for (const group of Object.keys(MODULE_GROUPS) as ModuleGroup[]) moduleLists[group] = await modules.closure(MODULE_GROUPS[group]);
    progress(`kernel ${modules.release}: ${Object.entries(moduleLists).map(([g, l]) => `${l.length} ${g}`).join(', ')} modules`);

    const stage = join(work, 'out');
    await mkdir(stage);
    const kernelSrc = join(kernelRoot, 'boot', `vmlinuz-${modules.release}`);
    const kernel = join(stage, 'vmlinuz');
    await copyFile(kernelSrc, kernel);

    progress('building initramfs');
    const { image, cpioSize } = await buildInitramfs({
      userlandRoot,
      moduleRoot: modules.root,
      kernelRelease: modules.release,
      moduleLists,
      modulesDep: await modules.modulesDep([...new Set(Object.values(moduleLists).flat())]),
      busyboxApplets: await listBusyboxApplets(userlandRoot),
    });
    const initramfs = join(stage, 'initramfs.img');
    await writeFile(initramfs, image);

    progress('building disk image (MBR + FAT + SYSLINUX, qcow2)');
    const disk = join(stage, 'disk.qcow2');
    const diskVirtual = await buildBootDisk({ workDir: work, kernel, initramfs, cmdline: TINY_GUEST_CMDLINE, out: disk });

    const final = (p: string): string => join(outDir, p.slice(stage.length + 1));
    const guest: TinyGuest = {
      kernel: final(kernel),
      initramfs: final(initramfs),
      disk: final(disk),
      diskFormat: 'qcow2',
      cmdline: TINY_GUEST_CMDLINE,
      inputsHash: hash,
      sizes: {
        kernel: (await stat(kernel)).size,
        initramfs: image.length,
        disk: (await stat(disk)).size,
        diskVirtual,
        initramfsUnpacked: cpioSize,
      },
      kernelRelease: modules.release,
      packages: Object.fromEntries(versions),
    };
    await writeFile(join(stage, MANIFEST), `${JSON.stringify(guest, null, 2)}\n`);

    // Publish atomically: a concurrent reader sees the old build or the whole new one.
    await rm(outDir, { recursive: true, force: true });
    try {
      await rename(stage, outDir);
    } catch (err) {
      const other = await readCached(outDir, hash);
      if (!other) throw err;
    }
    progress(`built ${outDir}`);

    for (const entry of await readdir(cacheDir)) {
      if (entry.startsWith(BUILD_PREFIX) && join(cacheDir, entry) !== outDir) await rm(join(cacheDir, entry), { recursive: true, force: true });
    }
    for (const stale of await pruneDebs(debDir, debs)) await rm(stale, { force: true });
    return guest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
