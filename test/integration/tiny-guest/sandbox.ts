/**
 * A throwaway network for booting the tiny guest in tests and benchmarks:
 * one network namespace holding a bridge, a tap per guest, a dnsmasq with
 * fixed leases and no upstream DNS, 169.254.169.254 on the bridge with a
 * metadata responder behind it. Every packet to a guest starts inside that
 * namespace; nothing is added to the root namespace. Everything created is
 * named with the caller's prefix and removed by name or PID.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyGuestQemuArgs } from '../../../src/host/image/tiny/index.js';
import type { TinyGuest, TinyGuestPackaging } from '../../../src/host/image/tiny/index.js';

const SUBNET_PREFIX = '10.77.0';
const GATEWAY = `${SUBNET_PREFIX}.1`;
const METADATA_IP = '169.254.169.254';
const NAME = /^[a-z0-9-]{1,15}$/;
/** USER_HZ: 100 on every Linux architecture Stacklet runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function run(argv: string[], timeoutMs = 60_000): Promise<string> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('empty argv'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a helper script of this folder with node, as .ts (tsx) or compiled .js. */
function helperArgv(name: string): string[] {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  const file = join(dirname(self), `${name}${ext}`);
  if (ext === '.js') return [process.execPath, file];
  // Resolved here so the child does not depend on its working directory to find tsx.
  let loader = 'tsx';
  try {
    loader = import.meta.resolve('tsx');
  } catch {
    // fall back to resolution from the working directory
  }
  return [process.execPath, '--import', loader, file];
}

/** One guest's place on the sandbox network. */
export interface GuestSlot {
  index: number;
  tap: string;
  mac: string;
  ip: string;
}

/** What the metadata responder serves to one guest. */
export interface GuestMetadata {
  /** OpenStack layout: meta_data.json (written pretty-printed) and optional user_data. */
  openstack?: { metaData: Record<string, unknown>; userData?: string };
  /** EC2 layout only (OpenStack paths answer 404). */
  ec2?: { hostname: string; publicKeys: string[]; userData?: string };
}

export interface SandboxOptions {
  /** Name prefix for the namespace and links (sltg for tests, sltgb for benchmarks). */
  prefix: string;
  workDir: string;
  slots: number;
  /** Hand out option 121 (classless static routes) instead of only a router. */
  classlessRoutes?: boolean;
}

/** A guest being booted; stop() kills it by PID. */
export interface RunningGuest {
  slot: GuestSlot;
  packaging: TinyGuestPackaging;
  serialLog: string;
  startedAt: number;
  /** ms from QEMU start until the serial log contains text. */
  waitForSerial(text: string, timeoutMs: number): Promise<number>;
  /** ms from QEMU start until port 22 answered with an SSH banner. */
  waitForSshBanner(): Promise<number>;
  /**
   * CPU time (user + system, ms) QEMU has used so far. On a busy machine
   * wall-clock boot times stretch with the load; CPU time stretches less.
   */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

export class TinyGuestSandbox {
  readonly bridge: string;
  private readonly children = new Set<ChildProcess>();
  private keyPath = '';
  publicKey = '';

  private constructor(
    readonly ns: string,
    private readonly opts: SandboxOptions,
  ) {
    this.bridge = `${opts.prefix}br0`;
  }

  /** Creates the namespace and its services; on failure removes what it made. */
  static async create(opts: SandboxOptions): Promise<TinyGuestSandbox> {
    const ns = `${opts.prefix}-${randomBytes(3).toString('hex')}`;
    for (const n of [ns, `${opts.prefix}br0`, `${opts.prefix}tap${opts.slots - 1}`]) {
      if (!NAME.test(n)) throw new Error(`bad link or namespace name ${n}`);
    }
    const sb = new TinyGuestSandbox(ns, opts);
    try {
      await sb.setUp();
      return sb;
    } catch (err) {
      await sb.destroy();
      throw err;
    }
  }

  slot(index: number): GuestSlot {
    if (index < 0 || index >= this.opts.slots) throw new Error(`no slot ${index}`);
    return {
      index,
      tap: `${this.opts.prefix}tap${index}`,
      mac: `52:54:00:77:00:${(0x10 + index).toString(16).padStart(2, '0')}`,
      ip: `${SUBNET_PREFIX}.${10 + index}`,
    };
  }

  private ipn(args: string[]): Promise<string> {
    return run(['ip', '-n', this.ns, ...args]);
  }

  private spawnInNs(argv: string[], logFile: string): ChildProcess {
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn('ip', ['netns', 'exec', this.ns, ...argv], { stdio: ['ignore', fd, fd] });
      this.children.add(child);
      child.on('exit', () => this.children.delete(child));
      return child;
    } finally {
      closeSync(fd);
    }
  }

  private async setUp(): Promise<void> {
    const { workDir, slots } = this.opts;
    await mkdir(join(workDir, 'metadata'), { recursive: true });
    await run(['ip', 'netns', 'add', this.ns]);
    await this.ipn(['link', 'set', 'lo', 'up']);
    await this.ipn(['link', 'add', this.bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    await this.ipn(['addr', 'add', `${GATEWAY}/24`, 'dev', this.bridge]);
    await this.ipn(['addr', 'add', `${METADATA_IP}/32`, 'dev', this.bridge]);
    await this.ipn(['link', 'set', this.bridge, 'up']);
    for (let i = 0; i < slots; i++) {
      const s = this.slot(i);
      await this.ipn(['tuntap', 'add', 'dev', s.tap, 'mode', 'tap']);
      await this.ipn(['link', 'set', s.tap, 'master', this.bridge, 'up']);
    }

    this.keyPath = join(workDir, 'id_ed25519');
    await rm(this.keyPath, { force: true });
    await rm(`${this.keyPath}.pub`, { force: true });
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'stacklet-test', '-f', this.keyPath]);
    this.publicKey = (await readFile(`${this.keyPath}.pub`, 'utf8')).trim();

    const dnsmasq = [
      'dnsmasq',
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--no-ping',
      `--interface=${this.bridge}`,
      '--bind-interfaces',
      `--dhcp-range=${SUBNET_PREFIX}.0,static,255.255.255.0,1h`,
      `--dhcp-leasefile=${join(workDir, 'dnsmasq.leases')}`,
      `--pid-file=${join(workDir, 'dnsmasq.pid')}`,
      '--log-dhcp',
      '--user=root',
      `--dhcp-option=option:dns-server,${GATEWAY}`,
      this.opts.classlessRoutes
        ? `--dhcp-option=option:classless-static-route,${METADATA_IP}/32,${GATEWAY},0.0.0.0/0,${GATEWAY}`
        : `--dhcp-option=option:router,${GATEWAY}`,
    ];
    for (let i = 0; i < slots; i++) {
      const s = this.slot(i);
      dnsmasq.push(`--dhcp-host=${s.mac},${s.ip}`);
    }
    this.spawnInNs(dnsmasq, join(workDir, 'dnsmasq.log'));
    this.spawnInNs([...helperArgv('metadata-responder'), join(workDir, 'metadata'), METADATA_IP, '80'], join(workDir, 'metadata.log'));
    await this.waitForLog(join(workDir, 'metadata.log'), 'listening on', 20_000);
  }

  private async waitForLog(file: string, text: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await readFile(file, 'utf8').catch(() => '')).includes(text)) return;
      await sleep(50);
    }
    throw new Error(`${file} did not show "${text}" within ${timeoutMs} ms`);
  }

  /** Writes what the metadata responder serves to this slot's address. */
  async setMetadata(slot: GuestSlot, md: GuestMetadata): Promise<void> {
    const dir = join(this.opts.workDir, 'metadata', slot.ip);
    await rm(dir, { recursive: true, force: true });
    if (md.openstack) {
      const os = join(dir, 'openstack', 'latest');
      await mkdir(os, { recursive: true });
      await writeFile(join(os, 'meta_data.json'), JSON.stringify(md.openstack.metaData, null, 2));
      if (md.openstack.userData !== undefined) await writeFile(join(os, 'user_data'), md.openstack.userData);
    }
    if (md.ec2) {
      const meta = join(dir, 'latest', 'meta-data');
      await mkdir(join(meta, 'public-keys'), { recursive: true });
      await writeFile(join(meta, 'hostname'), md.ec2.hostname);
      await writeFile(join(meta, 'public-keys', '_index'), md.ec2.publicKeys.map((_, i) => `${i}=key${i}`).join('\n'));
      for (const [i, key] of md.ec2.publicKeys.entries()) {
        await mkdir(join(meta, 'public-keys', String(i)), { recursive: true });
        await writeFile(join(meta, 'public-keys', String(i), 'openssh-key'), `${key}\n`);
      }
      if (md.ec2.userData !== undefined) await writeFile(join(dir, 'latest', 'user-data'), md.ec2.userData);
    }
  }

  /** Builds an ISO9660 config drive (label config-2) with openstack/latest/*. */
  async makeConfigDrive(name: string, metaData: Record<string, unknown>, userData?: string): Promise<string> {
    const src = join(this.opts.workDir, `${name}-src`);
    const latest = join(src, 'openstack', 'latest');
    await mkdir(latest, { recursive: true });
    await writeFile(join(latest, 'meta_data.json'), JSON.stringify(metaData));
    if (userData !== undefined) await writeFile(join(latest, 'user_data'), userData);
    const iso = join(this.opts.workDir, `${name}.iso`);
    await run(['genisoimage', '-quiet', '-o', iso, '-V', 'config-2', '-r', '-J', src]);
    return iso;
  }

  /** Starts QEMU (TCG) for the tiny guest on a slot; also starts an SSH probe for boot timing. */
  async boot(
    guest: TinyGuest,
    slot: GuestSlot,
    packaging: TinyGuestPackaging,
    extraDisks: Array<{ path: string; format: 'raw' | 'qcow2' }> = [],
    timeoutMs = 180_000,
  ): Promise<RunningGuest> {
    const tag = `${packaging}-${slot.index}-${Date.now()}`;
    const serialLog = join(this.opts.workDir, `serial-${tag}.log`);
    const probeLog = join(this.opts.workDir, `probe-${tag}.log`);
    const probe = this.spawnInNs([...helperArgv('ssh-probe'), slot.ip, '22', String(timeoutMs)], probeLog);
    const probeDone = new Promise<number>((resolve) => probe.on('exit', (code) => resolve(code ?? 1)));
    // The probe's node start-up must not overlap the measured boot.
    await this.waitForLog(probeLog, 'probing', 30_000);
    const args = tinyGuestQemuArgs(guest, { packaging, tap: slot.tap, mac: slot.mac, serialLog, extraDisks });
    const startedAt = Date.now();
    const qemu = this.spawnInNs(['qemu-system-x86_64', ...args], join(this.opts.workDir, `qemu-${tag}.log`));
    const exited = new Promise<void>((resolve) => qemu.on('exit', () => resolve()));
    const kill = async (child: ChildProcess, done: Promise<unknown>): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(t);
    };
    return {
      slot,
      packaging,
      serialLog,
      startedAt,
      waitForSerial: async (text, waitMs) => {
        const deadline = Date.now() + waitMs;
        while (Date.now() < deadline) {
          if ((await readFile(serialLog, 'utf8').catch(() => '')).includes(text)) return Date.now() - startedAt;
          if (qemu.exitCode !== null) break;
          await sleep(50);
        }
        const tail = (await readFile(serialLog, 'utf8').catch(() => '')).slice(-3000);
        throw new Error(`serial log has no "${text}" after ${Date.now() - startedAt} ms; qemu log: ${await readFile(join(this.opts.workDir, `qemu-${tag}.log`), 'utf8').catch(() => '')}\nserial tail:\n${tail}`);
      },
      waitForSshBanner: async () => {
        const code = await probeDone;
        const out = await readFile(probeLog, 'utf8').catch(() => '');
        const m = /"bannerAt":(\d+)/.exec(out);
        if (code !== 0 || !m?.[1]) throw new Error(`no SSH banner from ${slot.ip}: ${out.trim()}`);
        return Number(m[1]) - startedAt;
      },
      cpuMs: async () => {
        const stat = await readFile(`/proc/${qemu.pid ?? 0}/stat`, 'utf8');
        // Fields after the command name, which sits in parentheses and may hold spaces.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(fields[11]) + Number(fields[12]);
        return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
      },
      stop: async () => {
        await kill(qemu, exited);
        await kill(probe, probeDone);
      },
    };
  }

  /** Runs a command on a guest over SSH as cirros (from inside the namespace). */
  async ssh(slot: GuestSlot, command: string, timeoutMs = 30_000): Promise<string> {
    return run(
      [
        'ip', 'netns', 'exec', this.ns,
        'ssh', '-i', this.keyPath,
        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
        `cirros@${slot.ip}`, command,
      ],
      timeoutMs,
    );
  }

  /** ssh() retried until it succeeds or the time is up. */
  async sshUntil(slot: GuestSlot, command: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.ssh(slot, command);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  }

  async ping(slot: GuestSlot): Promise<boolean> {
    return run(['ip', 'netns', 'exec', this.ns, 'ping', '-c', '1', '-W', '3', slot.ip]).then(() => true, () => false);
  }

  /** Kills what it started (by PID) and deletes the namespace (by name) with its links. */
  async destroy(): Promise<void> {
    const waits = [...this.children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.on('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 3000).unref();
        }),
    );
    await Promise.all(waits);
    if (existsSync(`/run/netns/${this.ns}`)) {
      for (let i = 0; i < this.opts.slots; i++) await this.ipn(['link', 'del', this.slot(i).tap]).catch(() => undefined);
      await this.ipn(['link', 'del', this.bridge]).catch(() => undefined);
      await run(['ip', 'netns', 'del', this.ns]);
    }
  }
}

/**
 * Deletes namespaces left by an earlier, killed run with this prefix,
 * only when no process is left in them.
 */
export async function removeStaleSandboxes(prefix: string): Promise<string[]> {
  const removed: string[] = [];
  const list = await run(['ip', 'netns', 'list']).catch(() => '');
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(`${prefix}-`) || !NAME.test(name)) continue;
    const pids = await run(['ip', 'netns', 'pids', name]).catch(() => 'unknown');
    if (pids.trim() !== '') continue;
    await run(['ip', 'netns', 'del', name]).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}
