/**
 * Fixtures for the QEMU driver's integration tests and benchmarks: the tiny
 * guest (copied out of the shared build cache, so a concurrent rebuild
 * cannot pull files from under a running guest) and a throwaway network —
 * one namespace with a bridge, taps and a dnsmasq handing out fixed
 * leases. Every packet to a guest starts inside that namespace; nothing is
 * added to the root namespace. Names start with the caller's prefix and
 * everything is removed by name or PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTinyGuest } from '../../src/host/image/tiny/index.js';
import { findQemuPid, killHard } from '../../src/host/compute/qemu/process.js';

/** Where the tiny guest build is cached between runs. */
export const TINY_CACHE = process.env['STACKLET_TINY_CACHE'] ?? '/var/cache/stacklet-test/tiny';
/** What the tiny guest prints on its serial console once it is up. */
export const READY_BANNER = 'Stacklet tiny guest ready';

const NAME = /^[a-z0-9-]{1,15}$/;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs argv (no shell); rejects with its stderr. */
export function sh(argv: string[], timeoutMs = 60_000): Promise<string> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('empty argv'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** True when a command is on PATH. */
export async function hasCommand(cmd: string): Promise<boolean> {
  return sh(['sh', '-c', 'command -v "$1"', 'sh', cmd]).then(
    () => true,
    () => false,
  );
}

/** The tiny guest's files, private to one test run. */
export interface TestGuest {
  kernel: string;
  initramfs: string;
  disk: string;
  diskFormat: 'qcow2' | 'raw';
  cmdline: string;
}

/** Builds (or reuses) the tiny guest and copies it into dir. */
export async function tinyGuestCopy(dir: string): Promise<TestGuest> {
  const g = await buildTinyGuest({ cacheDir: TINY_CACHE });
  await mkdir(dir, { recursive: true });
  const out: TestGuest = { kernel: join(dir, 'vmlinuz'), initramfs: join(dir, 'initramfs.img'), disk: join(dir, `disk.${g.diskFormat}`), diskFormat: g.diskFormat, cmdline: g.cmdline };
  await copyFile(g.kernel, out.kernel);
  await copyFile(g.initramfs, out.initramfs);
  await copyFile(g.disk, out.disk);
  return out;
}

/** One guest's place on the test network. */
export interface NetSlot {
  tap: string;
  mac: string;
  ip: string;
}

/** A namespace with a bridge, `slots` taps on it and a dnsmasq with a fixed lease per tap's MAC. */
export class TestNet {
  readonly bridge: string;
  private dnsmasq: ChildProcess | undefined;
  keyPath = '';
  publicKey = '';

  private constructor(
    readonly ns: string,
    private readonly prefix: string,
    private readonly workDir: string,
    private readonly slots: number,
    private readonly subnet: string,
  ) {
    this.bridge = `${prefix}br0`;
  }

  /** Creates it all; on failure removes what it made. */
  static async create(prefix: string, workDir: string, slots: number, subnet = '10.79.0'): Promise<TestNet> {
    const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
    for (const n of [ns, `${prefix}br0`, `${prefix}t${slots - 1}`]) if (!NAME.test(n)) throw new Error(`bad name ${n}`);
    const net = new TestNet(ns, prefix, workDir, slots, subnet);
    try {
      await net.setUp();
      return net;
    } catch (err) {
      await net.destroy();
      throw err;
    }
  }

  slot(i: number): NetSlot {
    if (i < 0 || i >= this.slots) throw new Error(`no slot ${i}`);
    return { tap: `${this.prefix}t${i}`, mac: `52:54:00:79:00:${(0x10 + i).toString(16)}`, ip: `${this.subnet}.${10 + i}` };
  }

  private ipn(args: string[]): Promise<string> {
    return sh(['ip', '-n', this.ns, ...args]);
  }

  private async setUp(): Promise<void> {
    await mkdir(this.workDir, { recursive: true });
    await sh(['ip', 'netns', 'add', this.ns]);
    await this.ipn(['link', 'set', 'lo', 'up']);
    await this.ipn(['link', 'add', this.bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    await this.ipn(['addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge]);
    await this.ipn(['link', 'set', this.bridge, 'up']);
    for (let i = 0; i < this.slots; i++) {
      const s = this.slot(i);
      await this.ipn(['tuntap', 'add', 'dev', s.tap, 'mode', 'tap']);
      await this.ipn(['link', 'set', s.tap, 'master', this.bridge, 'up']);
    }
    this.keyPath = join(this.workDir, 'id_ed25519');
    await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'slq-test', '-f', this.keyPath]);
    this.publicKey = (await readFile(`${this.keyPath}.pub`, 'utf8')).trim();
    const argv = [
      'netns', 'exec', this.ns, 'dnsmasq',
      '--conf-file=/dev/null', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--no-ping', '--port=0',
      `--interface=${this.bridge}`, '--bind-interfaces',
      `--dhcp-range=${this.subnet}.0,static,255.255.255.0,1h`,
      `--dhcp-leasefile=${join(this.workDir, 'dnsmasq.leases')}`,
      `--pid-file=${join(this.workDir, 'dnsmasq.pid')}`,
      '--user=root',
      `--dhcp-option=option:router,${this.subnet}.1`,
    ];
    for (let i = 0; i < this.slots; i++) argv.push(`--dhcp-host=${this.slot(i).mac},${this.slot(i).ip}`);
    const log = openSync(join(this.workDir, 'dnsmasq.log'), 'a');
    try {
      this.dnsmasq = spawn('ip', argv, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
  }

  /** A tap's operational state inside the namespace ("UP" while a QEMU holds it, "DOWN" otherwise). */
  async tapState(tap: string): Promise<string> {
    const [link] = JSON.parse(await this.ipn(['-j', 'link', 'show', 'dev', tap])) as Array<{ operstate?: string }>;
    return link?.operstate ?? 'missing';
  }

  /** Runs a command on a guest as cirros over SSH, from inside the namespace. */
  ssh(slot: NetSlot, command: string, timeoutMs = 30_000): Promise<string> {
    return sh(
      [
        'ip', 'netns', 'exec', this.ns, 'ssh', '-i', this.keyPath,
        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
        '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `cirros@${slot.ip}`, command,
      ],
      timeoutMs,
    );
  }

  /** ssh() retried until it works or timeoutMs passes. */
  async sshUntil(slot: NetSlot, command: string, timeoutMs: number): Promise<string> {
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

  /** Stops dnsmasq by its PID, deletes the links and the namespace by name. */
  async destroy(): Promise<void> {
    const d = this.dnsmasq;
    if (d && d.exitCode === null && d.signalCode === null) {
      const gone = new Promise<void>((r) => d.once('exit', () => r()));
      d.kill('SIGTERM');
      const t = setTimeout(() => d.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    if (existsSync(`/run/netns/${this.ns}`)) {
      for (let i = 0; i < this.slots; i++) await this.ipn(['link', 'del', this.slot(i).tap]).catch(() => undefined);
      await this.ipn(['link', 'del', this.bridge]).catch(() => undefined);
      await sh(['ip', 'netns', 'del', this.ns]);
    }
  }
}

/** Kills (by PID, after checking its command line) every QEMU of ours under an instances dir. */
export async function killInstances(instancesDir: string, prefix: string): Promise<number> {
  let n = 0;
  const names = await readdir(instancesDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(`${prefix}-`)) continue;
    const id = name.slice(prefix.length + 1);
    const pid = await findQemuPid(join(instancesDir, name, 'qemu.pid'), id);
    if (pid !== undefined) {
      await killHard(pid);
      n++;
    }
  }
  return n;
}

/**
 * Deletes namespaces an earlier, killed run left behind with this prefix:
 * only those older than an hour with no process left in them, so a run
 * going on at the same time (someone else's test suite) keeps its own.
 */
export async function removeStaleNamespaces(prefix: string): Promise<void> {
  const list = await sh(['ip', 'netns', 'list']).catch(() => '');
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(`${prefix}-`) || !NAME.test(name)) continue;
    const age = await stat(`/run/netns/${name}`).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age < 3600_000) continue;
    if ((await sh(['ip', 'netns', 'pids', name]).catch(() => 'unknown')).trim() !== '') continue;
    await sh(['ip', 'netns', 'del', name]).catch(() => undefined);
  }
}

/** Polls fn until it returns a value other than undefined, or throws after timeoutMs. */
export async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}
