import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readModinfo } from './elf.js';

/**
 * Picks kernel modules out of the unpacked kernel package and orders them
 * for busybox insmod (dependencies first). Debian ships no modules.dep in
 * the package (depmod runs at install time), so dependencies come from each
 * module's own .modinfo "depends=".
 */

/**
 * Module groups the guest's /init loads. Each module loaded costs boot
 * time under TCG, so only the virtio transport the machine has is loaded
 * (PCI on q35, MMIO on microvm), and storage extras only when needed.
 */
export const MODULE_GROUPS = {
  /** q35/pc: virtio over PCI. */
  pci: ['virtio_pci'],
  /** microvm: virtio-mmio devices described by ACPI or the command line. */
  mmio: ['virtio_mmio'],
  /** Every boot: network and disks. */
  devices: ['virtio_net', 'virtio_blk'],
  /** Only with a virtio-scsi controller (a config drive as a CD-ROM). */
  scsi: ['virtio_scsi', 'sr_mod', 'sd_mod'],
  /** Only when a config drive is found: ISO9660 or vfat, with the codepages vfat asks for. */
  configdrive: ['isofs', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8', 'nls_iso8859_1'],
  /** After SSH is up: the ACPI power button as an input device, so a stop is a clean poweroff, not a timeout. */
  power: ['button', 'evdev'],
} as const satisfies Record<string, readonly string[]>;

export type ModuleGroup = keyof typeof MODULE_GROUPS;

function moduleName(fileOrPath: string): string {
  const base = fileOrPath.slice(fileOrPath.lastIndexOf('/') + 1).replace(/\.ko(\.(xz|zst|gz))?$/, '');
  return base.replace(/-/g, '_');
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.name.endsWith('.ko')) out.push(p);
  }
}

/** One kernel's module tree, as unpacked from its package. */
export class ModuleTree {
  private constructor(
    /** Absolute path of lib/modules/<release> in the unpacked package. */
    readonly root: string,
    readonly release: string,
    private readonly files: Map<string, string>,
    private readonly builtin: Set<string>,
  ) {}

  static async open(unpackedKernel: string): Promise<ModuleTree> {
    const base = join(unpackedKernel, 'lib', 'modules');
    const releases = (await readdir(base)).filter((r) => !r.startsWith('.'));
    const release = releases[0];
    if (releases.length !== 1 || release === undefined) throw new Error(`expected one kernel release in ${base}, found ${releases.join(', ') || 'none'}`);
    const root = join(base, release);
    const found: string[] = [];
    await walk(join(root, 'kernel'), found);
    const files = new Map(found.map((p) => [moduleName(p), p]));
    const builtinText = await readFile(join(root, 'modules.builtin'), 'utf8').catch(() => '');
    const builtin = new Set(builtinText.split('\n').filter(Boolean).map(moduleName));
    return new ModuleTree(root, release, files, builtin);
  }

  private async depends(name: string): Promise<string[]> {
    const file = this.files.get(name);
    if (!file) return [];
    const info = readModinfo(await readFile(file), file);
    return info
      .filter(([k]) => k === 'depends')
      .flatMap(([, v]) => v.split(','))
      .filter(Boolean)
      .map(moduleName);
  }

  /**
   * modules.dep lines (kmod's format: each module's transitive dependencies,
   * the one to load last first) for busybox modprobe.
   */
  async modulesDep(relFiles: readonly string[]): Promise<string> {
    const lines: string[] = [];
    for (const rel of relFiles) {
      const order = await this.closure([moduleName(rel)]);
      lines.push(`${rel}:${order.slice(0, -1).reverse().map((d) => ` ${d}`).join('')}\n`);
    }
    return lines.sort().join('');
  }

  /**
   * Module files (relative to the release dir) needed for `wanted`, in load
   * order. Built-in modules are skipped; `skip` holds modules an earlier
   * list already loads.
   */
  async closure(wanted: readonly string[], skip: ReadonlySet<string> = new Set()): Promise<string[]> {
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = async (name: string, chain: string[]): Promise<void> => {
      if (skip.has(name) || this.builtin.has(name) || state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw new Error(`module dependency cycle: ${[...chain, name].join(' → ')}`);
      if (!this.files.has(name)) throw new Error(`kernel ${this.release} has no module ${name} (neither built in nor in the package)`);
      state.set(name, 'visiting');
      for (const dep of await this.depends(name)) await visit(dep, [...chain, name]);
      state.set(name, 'done');
      order.push(name);
    };
    for (const w of wanted) await visit(moduleName(w), []);
    return order.map((n) => {
      const file = this.files.get(n);
      if (!file) throw new Error(`module ${n} vanished`);
      return relative(this.root, file);
    });
  }
}
