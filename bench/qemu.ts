/**
 * QEMU driver figures, under TCG (run by hand as root, prints a table):
 *
 *   node dist/bench/qemu.js [--tb 8,16,32] [--q35-tb 16] [--runs 1] [--many 10] [--skip-plain]
 *
 * 1. Boot time: driver.ensureRunning → serial banner and → SSH banner on
 *    port 22, for the tiny guest's two packagings (microvm direct boot, q35
 *    disk), next to plain QEMU started with the tiny guest's own arguments
 *    (what our driver adds: overlay, config drive, QMP, VNC, SMBIOS).
 * 2. Memory: QEMU's RSS minus guest RAM for several TCG translation cache
 *    sizes (tb-size), two ways: RSS − configured guest RAM (conservative:
 *    counts untouched guest pages as zero), and RSS − the guest RAM
 *    mapping's own resident pages (QEMU's true overhead).
 * 3. Optionally N guests started at once: time until all show the banner
 *    and all answer SSH.
 *
 * Everything runs in a namespace it makes (prefix slqb) and is removed by
 * PID and name at the end.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceSpec } from '../src/host/compute/driver.js';
import { buildConfigDrive } from '../src/host/compute/qemu/config-drive.js';
import { DEFAULT_TB_SIZE_MIB, QemuDriver } from '../src/host/compute/qemu/driver.js';
import { killHard } from '../src/host/compute/qemu/process.js';
import { tinyGuestQemuArgs, buildTinyGuest } from '../src/host/image/tiny/index.js';
import { sshProbe } from './ssh-probe.js';
import { killInstances, READY_BANNER, TestNet, TINY_CACHE, tinyGuestCopy, type NetSlot, type TestGuest } from '../test/integration/qemu-fixture.js';

const PREFIX = 'slqb';
const MEM_MIB = 128;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until a file contains text; resolves with Date.now() at that moment. */
async function waitFile(file: string, text: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await readFile(file, 'utf8').catch(() => '')).includes(text)) return Date.now();
    await sleep(25);
  }
  throw new Error(`${file} has no "${text}" after ${timeoutMs} ms`);
}

/**
 * Memory of a QEMU in KiB: VmRSS, its private part (what this instance alone
 * costs: QEMU's binary and libraries are shared by every instance), and the
 * resident part of the guest RAM mapping (the anonymous mapping of exactly
 * the guest's size).
 */
async function memory(pid: number, memMiB: number): Promise<{ rss: number; priv: number; guestResident: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`\\n${name}:\\s+(\\d+) kB`).exec(`\n${rollup}`)?.[1] ?? 0);
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  let guestResident = 0;
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const size = Number(/\nSize:\s+(\d+) kB/.exec(block)?.[1] ?? 0);
    if (size === memMiB * 1024) guestResident = Math.max(guestResident, Number(/\nRss:\s+(\d+) kB/.exec(block)?.[1] ?? 0));
  }
  return { rss: field('Rss'), priv: field('Private_Clean') + field('Private_Dirty'), guestResident };
}

/** CPU time (user + system) a process has used, in ms: boot cost that does not depend on what else the host runs. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the state field, in clock ticks (100 Hz).
  return (Number(f[11]) + Number(f[12])) * 10;
}

interface BootFigure {
  what: string;
  /** QEMU's CPU time until the serial banner. */
  cpuMs: number;
  bannerMs: number;
  sshMs: number;
  rssMiB: number;
  overConfiguredMiB: number;
  overResidentMiB: number;
  /** Private memory minus resident guest RAM: what one more instance costs beyond its guest's RAM. */
  privateOverMiB: number;
}

function spec(g: TestGuest, n: TestNet, slot: NetSlot, packaging: 'direct' | 'disk'): InstanceSpec {
  const id = randomUUID();
  return {
    id,
    name: 'bench',
    memoryMiB: MEM_MIB,
    vcpus: 1,
    ...(packaging === 'direct'
      ? { kernel: { kernel: g.kernel, ramdisk: g.initramfs, cmdline: g.cmdline } }
      : { rootDisk: { image: { path: g.disk, format: g.diskFormat } } }),
    nics: [{ portId: randomUUID(), tap: slot.tap, mac: slot.mac }],
    configDrive: { 'openstack/latest/meta_data.json': JSON.stringify({ uuid: id, hostname: 'bench', public_keys: { k: n.publicKey } }) },
  };
}

async function bootWithDriver(work: string, g: TestGuest, n: TestNet, packaging: 'direct' | 'disk', tb: number): Promise<BootFigure> {
  const d = new QemuDriver({ instancesDir: join(work, `inst-${tb}`), prefix: PREFIX, accel: { accel: 'tcg', reason: 'bench' }, netns: n.ns, tbSizeMiB: tb });
  const slot = n.slot(0);
  const s = spec(g, n, slot, packaging);
  const probe = sshProbe(n.ns, [slot.ip], 180_000);
  await probe.ready;
  const t0 = Date.now();
  const st = await d.ensureRunning(s);
  const banner = await waitFile(d.paths(s.id).consoleLog, READY_BANNER, 180_000);
  const cpu = await cpuMs(st.pid ?? 0);
  const ssh = await probe.bannerAt(slot.ip);
  await sleep(2000);
  const m = await memory(st.pid ?? 0, MEM_MIB);
  await d.destroy(s.id);
  return {
    what: `driver ${packaging === 'direct' ? 'microvm' : 'q35'} tb-size=${tb}`,
    cpuMs: cpu,
    bannerMs: banner - t0,
    sshMs: ssh - t0,
    rssMiB: m.rss / 1024,
    overConfiguredMiB: m.rss / 1024 - MEM_MIB,
    overResidentMiB: (m.rss - m.guestResident) / 1024,
    privateOverMiB: (m.priv - m.guestResident) / 1024,
  };
}

async function bootPlain(work: string, n: TestNet, packaging: 'direct' | 'disk'): Promise<BootFigure> {
  const g = await buildTinyGuest({ cacheDir: TINY_CACHE });
  const slot = n.slot(0);
  const tag = `plain-${packaging}-${Date.now()}`;
  const serialLog = join(work, `${tag}.log`);
  // The same config drive the driver gives its guests, so neither waits for a metadata service.
  const iso = join(work, `${tag}.iso`);
  await buildConfigDrive({ 'openstack/latest/meta_data.json': JSON.stringify({ uuid: tag, hostname: 'bench', public_keys: { k: n.publicKey } }) }, iso, work);
  const args = tinyGuestQemuArgs(g, { packaging, tap: slot.tap, mac: slot.mac, serialLog, memoryMiB: MEM_MIB, extraDisks: [{ path: iso, format: 'raw' }] });
  const probe = sshProbe(n.ns, [slot.ip], 180_000);
  await probe.ready;
  const t0 = Date.now();
  const qemu = spawn('ip', ['netns', 'exec', n.ns, 'qemu-system-x86_64', ...args], { stdio: 'ignore' });
  try {
    const banner = await waitFile(serialLog, READY_BANNER, 180_000);
    const cpu = await cpuMs(qemu.pid ?? 0);
    const ssh = await probe.bannerAt(slot.ip);
    await sleep(2000);
    const m = await memory(qemu.pid ?? 0, MEM_MIB);
    return {
      what: `plain qemu ${packaging === 'direct' ? 'microvm' : 'q35'} (default tb-size)`,
      cpuMs: cpu,
      bannerMs: banner - t0,
      sshMs: ssh - t0,
      rssMiB: m.rss / 1024,
      overConfiguredMiB: m.rss / 1024 - MEM_MIB,
      overResidentMiB: (m.rss - m.guestResident) / 1024,
      privateOverMiB: (m.priv - m.guestResident) / 1024,
    };
  } finally {
    if (qemu.pid !== undefined) await killHard(qemu.pid);
  }
}

async function many(work: string, g: TestGuest, n: TestNet, count: number, tb: number): Promise<void> {
  const d = new QemuDriver({ instancesDir: join(work, 'inst-many'), prefix: PREFIX, accel: { accel: 'tcg', reason: 'bench' }, netns: n.ns, tbSizeMiB: tb });
  const specs = Array.from({ length: count }, (_, i) => spec(g, n, n.slot(i), 'direct'));
  const ips = specs.map((_, i) => n.slot(i).ip);
  const probe = sshProbe(n.ns, ips, 600_000);
  await probe.ready;
  const t0 = Date.now();
  await Promise.all(specs.map((s) => d.ensureRunning(s)));
  const started = Date.now() - t0;
  const banners = await Promise.all(specs.map((s) => waitFile(d.paths(s.id).consoleLog, READY_BANNER, 600_000)));
  const ssh = await Promise.all(ips.map((ip) => probe.bannerAt(ip)));
  console.log(
    `\n${count} microvm guests at once (tb-size=${tb}): all QEMUs started ${started} ms, all serial banners ${Math.max(...banners) - t0} ms, all SSH banners ${Math.max(...ssh) - t0} ms`,
  );
  for (const s of specs) await d.destroy(s.id);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (namespaces, taps)');
  const tbs = arg('tb', '4,8,16,32').split(',').map(Number);
  const q35Tbs = arg('q35-tb', '16').split(',').map(Number);
  const runs = Number(arg('runs', '1'));
  const count = Number(arg('many', '0'));
  const work = await mkdtemp('/tmp/slqb-');
  const n = await TestNet.create(PREFIX, join(work, 'net'), Math.max(2, count));
  const rows: BootFigure[] = [];
  try {
    const g = await tinyGuestCopy(join(work, 'guest'));
    for (let r = 0; r < runs; r++) {
      if (!process.argv.includes('--skip-plain')) {
        rows.push(await bootPlain(work, n, 'direct'));
        rows.push(await bootPlain(work, n, 'disk'));
      }
      for (const tb of tbs) rows.push(await bootWithDriver(work, g, n, 'direct', tb));
      for (const tb of q35Tbs) rows.push(await bootWithDriver(work, g, n, 'disk', tb));
    }
    console.log(`\ntiny guest, ${MEM_MIB} MiB, 1 vCPU, TCG, load average at start ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`);
    console.log('what                                       CPU to banner   serial banner   SSH banner   RSS MiB   RSS-RAM MiB   RSS-resident guest RAM MiB   private-resident guest RAM MiB');
    for (const f of rows) {
      console.log(
        `${f.what.padEnd(42)} ${String(f.cpuMs).padStart(10)} ms ${String(f.bannerMs).padStart(12)} ms ${String(f.sshMs).padStart(9)} ms ${f.rssMiB.toFixed(0).padStart(9)} ${f.overConfiguredMiB.toFixed(0).padStart(13)} ${f.overResidentMiB.toFixed(0).padStart(28)} ${f.privateOverMiB.toFixed(0).padStart(32)}`,
      );
    }
    if (count > 0) await many(work, g, n, count, DEFAULT_TB_SIZE_MIB.microvm);
  } finally {
    for (const name of ['inst-many', ...[...tbs, ...q35Tbs].map((t) => `inst-${t}`)]) await killInstances(join(work, name), PREFIX);
    await n.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
