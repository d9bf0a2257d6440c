import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import type { AccelChoice } from '../driver.js';
import { run } from './exec.js';

/**
 * Does KVM really work here? /dev/kvm opening is not enough: on KVM-PVM
 * hosts it opens and creates VMs, yet an ordinary (Debian) guest kernel
 * hangs before printing a line. So the probe boots a real kernel under
 * `-accel kvm` and waits for it to reach its init on the serial console;
 * anything else means TCG. The answer is cached in a file keyed by the
 * QEMU version and the host kernel, since either may change what works.
 */

/** Options for {@link probeAccel}. */
export interface ProbeOptions {
  /** Where the answer is cached (in the data dir). */
  cacheFile: string;
  /** Kernel and initramfs of a guest that prints `marker` once booted (the tiny guest). */
  kernel: string;
  initrd?: string;
  /** What the serial console shows once the guest kernel has handed over to init. */
  marker?: RegExp;
  qemuBinary?: string;
  /** How long the guest gets under KVM; a working KVM boots the tiny guest's kernel in about a second. */
  timeoutMs?: number;
  /** Ignore the cache. */
  force?: boolean;
  /** Where /dev/kvm is (tests point it elsewhere). */
  kvmDevice?: string;
}

/** The kernel's own line when it starts init, and the tiny guest's banner. */
export const DEFAULT_PROBE_MARKER = /Run \/init as init process|Stacklet tiny guest/;

interface CacheEntry {
  key: string;
  accel: AccelChoice['accel'];
  reason: string;
  probedAt: string;
}

/** QEMU's version, e.g. "7.2.22", from `qemu-system-x86_64 --version`. */
export async function qemuVersion(binary = 'qemu-system-x86_64'): Promise<string> {
  const { stdout } = await run([binary, '--version'], { timeoutMs: 10_000 });
  const m = /version (\d+\.\d+\.\d+)/.exec(stdout);
  return m?.[1] ?? stdout.split('\n')[0]?.trim() ?? 'unknown';
}

async function readCache(file: string, key: string): Promise<AccelChoice | undefined> {
  try {
    const e = JSON.parse(await readFile(file, 'utf8')) as Partial<CacheEntry>;
    if (e.key === key && (e.accel === 'kvm' || e.accel === 'tcg') && typeof e.reason === 'string') {
      return { accel: e.accel, reason: `${e.reason} (probed ${e.probedAt ?? 'earlier'})` };
    }
  } catch {
    // No cache, or an unreadable one: probe again.
  }
  return undefined;
}

async function writeCache(file: string, entry: CacheEntry): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(entry, null, 2)}\n`);
  await rename(tmp, file);
}

/** Boots the probe guest under KVM; resolves with how long it took to show the marker, or why it did not. */
async function bootUnderKvm(opts: ProbeOptions, workDir: string): Promise<{ ok: true; ms: number } | { ok: false; why: string }> {
  const log = join(workDir, 'serial.log');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const marker = opts.marker ?? DEFAULT_PROBE_MARKER;
  const argv = [
    '-machine', 'microvm,x-option-roms=off',
    '-accel', 'kvm',
    '-cpu', 'host',
    '-m', '128',
    '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-chardev', `file,id=s0,path=${log}`,
    '-serial', 'chardev:s0',
    '-kernel', opts.kernel,
    ...(opts.initrd ? ['-initrd', opts.initrd] : []),
    '-append', 'console=ttyS0 panic=-1 loglevel=6',
  ];
  const started = Date.now();
  const child = spawn(opts.qemuBinary ?? 'qemu-system-x86_64', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      exited = true;
      stderr += err.message;
      resolve();
    });
  });
  try {
    while (Date.now() - started < timeoutMs) {
      const text = await readFile(log, 'utf8').catch(() => '');
      if (marker.test(text)) return { ok: true, ms: Date.now() - started };
      if (exited) {
        const msg = stderr.trim().split('\n').slice(-2).join(' ') || 'QEMU exited before the guest reached init';
        return { ok: false, why: `QEMU with -accel kvm failed: ${msg}` };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      ok: false,
      why: `a test guest did not reach its init within ${Math.round(timeoutMs / 1000)} s under -accel kvm (this KVM cannot run an ordinary guest kernel, e.g. KVM-PVM)`,
    };
  } finally {
    if (!exited) child.kill('SIGKILL');
    await exit;
  }
}

/**
 * Decides between KVM and TCG (cached). Never throws for a host without
 * KVM: that is a TCG answer with the reason.
 */
export async function probeAccel(opts: ProbeOptions): Promise<AccelChoice> {
  const binary = opts.qemuBinary ?? 'qemu-system-x86_64';
  const kvmDevice = opts.kvmDevice ?? '/dev/kvm';
  const version = await qemuVersion(binary);
  const key = `qemu ${version}; host kernel ${release()}; ${kvmDevice}`;
  if (!opts.force) {
    const cached = await readCache(opts.cacheFile, key);
    if (cached) return cached;
  }
  const denied = await access(kvmDevice, constants.R_OK | constants.W_OK).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 'does not exist (no KVM on this host or VM)' : `cannot be opened (${err.code ?? err.message})`),
  );
  let choice: AccelChoice;
  if (denied !== undefined) {
    choice = { accel: 'tcg', reason: `using TCG (software emulation, slower): ${kvmDevice} ${denied}` };
  } else {
    const work = await mkdtemp(join(dirname(opts.cacheFile), '.kvm-probe-'));
    try {
      const r = await bootUnderKvm({ ...opts, qemuBinary: binary }, work);
      choice = r.ok
        ? { accel: 'kvm', reason: `KVM works: a test guest reached its init in ${(r.ms / 1000).toFixed(1)} s under -accel kvm` }
        : { accel: 'tcg', reason: `using TCG (software emulation, slower): ${r.why}` };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  await writeCache(opts.cacheFile, { key, accel: choice.accel, reason: choice.reason, probedAt: new Date().toISOString() });
  return choice;
}
