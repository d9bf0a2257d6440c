import { setPriority } from 'node:os';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type {
  AccelChoice,
  ComputeDriver,
  DestroyOptions,
  HostFigures,
  ImageFile,
  InstanceSpec,
  InstanceStatus,
  MachineType,
  NicBinding,
  PowerState,
} from '../driver.js';
import { ComputeError } from '../errors.js';
import { netdevIdFor, renderQemuArgv, rootPortId, type QemuConfig } from './argv.js';
import { nicIdFor, qemuConfigFor, qemuNic, validateSpec, type HostSettings } from './config.js';
import { buildConfigDrive } from './config-drive.js';
import { rotateLog, tailLog } from './console.js';
import { ensureOverlay, flattenDisk } from './disk.js';
import { hostFigures } from './host-info.js';
import { idFromDirName, instancePaths, type InstancePaths } from './layout.js';
import { qemuVersion } from './probe.js';
import { findQemuPid, killHard, startDetached, waitExit } from './process.js';
import { QmpClient, QmpError, withQmp } from './qmp.js';
import { restoreState, saveState } from './saved-state.js';

/** Options of the QEMU driver. */
export interface QemuDriverOptions {
  /** Where instance dirs live (the data dir's instances/). */
  instancesDir: string;
  /** The cloud's host prefix: instance dirs are `<prefix>-<uuid>`. */
  prefix: string;
  /** The probe's answer (probe.ts). Tests pass TCG. */
  accel: AccelChoice;
  qemuBinary?: string;
  /**
   * Network namespace QEMU runs in (sandbox mode): QEMU opens taps by name,
   * and a name means the tap in QEMU's own namespace.
   */
  netns?: string;
  /** TCG translation cache per instance (MiB), overriding the per-machine defaults; docs/compute-driver.md has the measurements behind them. */
  tbSizeMiB?: number;
  /** q35: spare PCIe root ports per instance for NIC hot-plug. */
  spareHotplugPorts?: number;
  /** SMBIOS system version. */
  version?: string;
  /** How long powerOff waits for the guest to shut itself down before stopping QEMU. */
  powerOffTimeoutMs?: number;
  /** How long a soft reboot waits for the guest before resetting it. */
  rebootTimeoutMs?: number;
  /** How long a NIC unplug waits for the guest to release the device. */
  hotplugTimeoutMs?: number;
  /** How long saving or restoring a suspended guest may take. */
  stateTimeoutMs?: number;
  /**
   * Nice value of the guests' vCPU threads (0 leaves them alone). Under TCG
   * a booting guest eats a whole core; at the same priority 20 of them
   * starve the control plane and the start-up of the next QEMU. Only the
   * vCPU threads are lowered: QEMU's main loop (devices, QMP, VNC) keeps
   * normal priority, and guests get all the CPU nobody else wants.
   */
  guestNice?: number;
}

/** What the driver remembers of a started instance, in its dir: the exact config QEMU runs with. */
interface RuntimeRecord {
  config: QemuConfig;
  startedAt: string;
}

/**
 * The default TCG translation cache (MiB) per machine: the smallest that
 * keeps the tiny guest's boot near plain QEMU's (whose cache is ~1 GiB
 * of address space) while QEMU's RSS beyond guest RAM stays under 80 MB.
 * microvm maps its own copy of the kernel, so its cache is smaller. See
 * the tb-size figures in docs/compute-driver.md.
 */
export const DEFAULT_TB_SIZE_MIB: Readonly<Record<MachineType, number>> = { q35: 32, microvm: 20 };
/** See QemuDriverOptions.guestNice; docs/compute-driver.md has the figures. */
export const DEFAULT_GUEST_NICE = 10;
const QMP_TIMEOUT_MS = 5_000;
/** ACPI power button presses are repeated: a guest still booting may miss the first one. */
const POWERDOWN_RETRY_MS = 10_000;

/** QEMU's run states (query-status) as Nova power states. */
export function powerStateOf(qmpStatus: string): PowerState {
  switch (qmpStatus) {
    case 'running':
      return 'running';
    case 'guest-panicked':
    case 'internal-error':
    case 'io-error':
    case 'shutdown':
      return 'crashed';
    default:
      // paused, prelaunch, inmigrate, postmigrate, finish-migrate, save-vm, restore-vm, suspended (guest S3), debug, watchdog.
      return 'paused';
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** The real compute driver: one daemonized qemu-system-x86_64 per instance. */
export class QemuDriver implements ComputeDriver {
  private readonly binary: string;
  private readonly host: HostSettings;
  private readonly locks = new Map<string, Promise<void>>();
  private version: string | undefined;

  constructor(private readonly opts: QemuDriverOptions) {
    this.binary = opts.qemuBinary ?? 'qemu-system-x86_64';
    if (opts.netns !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(opts.netns)) {
      throw new ComputeError('InvalidSpec', `network namespace name ${JSON.stringify(opts.netns)} is not valid`);
    }
    this.host = {
      prefix: opts.prefix,
      accel: opts.accel.accel,
      tbSizeMiB: opts.tbSizeMiB ?? DEFAULT_TB_SIZE_MIB,
      spareHotplugPorts: opts.spareHotplugPorts ?? 2,
      version: opts.version ?? 'stacklet',
    };
  }

  /** Paths of one instance (validates the id). */
  paths(id: string): InstancePaths {
    return instancePaths(this.opts.instancesDir, this.opts.prefix, id);
  }

  async ensureRunning(spec: InstanceSpec): Promise<InstanceStatus> {
    validateSpec(spec);
    const p = this.paths(spec.id);
    return this.locked(spec.id, async () => {
      if ((await findQemuPid(p.pidFile, spec.id)) === undefined) {
        if (await exists(p.savedState)) await this.restore(p, spec.id);
        else await this.coldStart(spec, p);
      }
      const s = await this.statusOf(spec.id, p);
      if (!s) throw new ComputeError('HostFailure', `instance ${spec.id} vanished right after it started`);
      return s;
    });
  }

  async powerOff(id: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      await rm(p.savedState, { force: true });
      const pid = await findQemuPid(p.pidFile, id);
      if (pid !== undefined) await this.stopProcess(p, pid, opts.timeoutMs ?? this.opts.powerOffTimeoutMs ?? 60_000);
      await this.removeRuntimeFiles(p);
    });
  }

  async reboot(id: string, kind: 'soft' | 'hard', opts: { timeoutMs?: number } = {}): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      await this.requireProcess(id, p, 'reboot');
      const rec = await this.readRuntime(p);
      await withQmp(p.qmpSocket, async (q) => {
        const status = await q.execute<{ status: string }>('query-status');
        if (kind === 'soft' && rec?.config.machine === 'q35' && status.status === 'running') {
          const reset = q.waitEvent('RESET', opts.timeoutMs ?? this.opts.rebootTimeoutMs ?? 60_000);
          reset.catch(() => undefined);
          // Ctrl-Alt-Del: init (busybox, systemd) reboots cleanly on it; ACPI has no "reboot button".
          await q.execute('send-key', { keys: ['ctrl', 'alt', 'delete'].map((k) => ({ type: 'qcode', data: k })) });
          const answered = await reset.then(
            () => true,
            () => false,
          );
          if (answered) return;
        }
        await q.execute('system_reset');
        // A hard reboot of a paused guest leaves it running, as Nova's does.
        if (status.status !== 'running') await q.execute('cont');
      });
    });
  }

  async pause(id: string): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      await this.requireProcess(id, p, 'pause');
      await withQmp(p.qmpSocket, (q) => q.execute('stop'));
    });
  }

  async unpause(id: string): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      await this.requireProcess(id, p, 'unpause');
      await withQmp(p.qmpSocket, (q) => q.execute('cont'));
    });
  }

  async suspend(id: string): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      const found = await findQemuPid(p.pidFile, id);
      if (found === undefined && (await exists(p.savedState))) return;
      const pid = found ?? (await this.requireProcess(id, p, 'suspend'));
      await withQmp(p.qmpSocket, async (q) => {
        const before = await q.execute<{ status: string }>('query-status');
        await q.execute('stop');
        try {
          await saveState(q, p.migrateSocket, p.savedState, this.opts.stateTimeoutMs ?? 10 * 60_000);
        } catch (err) {
          if (before.status === 'running') await q.execute('cont').catch(() => undefined);
          throw err;
        }
        await q.execute('quit').catch(() => undefined);
      });
      if (!(await waitExit(pid, 15_000))) await killHard(pid);
      await this.removeRuntimeFiles(p);
    });
  }

  async destroy(id: string, opts: DestroyOptions = {}): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      const pid = await findQemuPid(p.pidFile, id);
      if (pid !== undefined) await killHard(pid);
      if (!opts.keepLog) {
        await rm(p.dir, { recursive: true, force: true });
        return;
      }
      if (!(await exists(p.dir))) return;
      for (const name of await readdir(p.dir)) {
        const full = `${p.dir}/${name}`;
        if (full !== p.consoleLog && full !== p.consoleLogOld) await rm(full, { recursive: true, force: true });
      }
    });
  }

  async status(id: string): Promise<InstanceStatus | undefined> {
    const p = this.paths(id);
    return this.locked(id, () => this.statusOf(id, p));
  }

  async list(): Promise<InstanceStatus[]> {
    let names: string[];
    try {
      names = await readdir(this.opts.instancesDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const ids = names.map((n) => idFromDirName(this.opts.prefix, n)).filter((id): id is string => id !== undefined).sort();
    const out: InstanceStatus[] = [];
    for (const id of ids) {
      const s = await this.status(id);
      if (s) out.push(s);
    }
    return out;
  }

  async consoleLog(id: string, opts: { lines?: number } = {}): Promise<string> {
    const p = this.paths(id);
    if (!(await exists(p.dir))) throw new ComputeError('NotFound', `no instance ${id} on this host`);
    return tailLog(p.consoleLog, opts.lines);
  }

  async vncSocket(id: string): Promise<string> {
    const p = this.paths(id);
    await this.requireProcess(id, p, 'open a console of');
    return p.vncSocket;
  }

  async attachInterface(id: string, nic: NicBinding): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      await this.requireProcess(id, p, 'attach an interface to');
      const rec = await this.requireRuntime(p, id);
      const cfg = rec.config;
      const nicId = nicIdFor(nic.portId);
      if (cfg.nics.some((n) => n.id === nicId)) return;
      if (cfg.machine !== 'q35') {
        throw new ComputeError('Unsupported', `instance ${id} runs on microvm, which has no PCI hot-plug: stop it, add the interface and start it again`);
      }
      const used = new Set(cfg.nics.map((n) => n.port));
      let port = 0;
      while (port < cfg.rootPorts && used.has(port)) port++;
      if (port >= cfg.rootPorts) {
        throw new ComputeError('Unsupported', `instance ${id} has no free PCIe slot for another interface; stop and start it to get new ones`);
      }
      const qn = qemuNic(nic, port);
      // Validate through the renderer before touching QEMU (names, MAC, MTU).
      renderQemuArgv({ ...cfg, nics: [...cfg.nics, qn] });
      await withQmp(p.qmpSocket, async (q) => {
        await q.execute('netdev_add', { type: 'tap', id: netdevIdFor(qn.id), ifname: qn.tap, script: 'no', downscript: 'no', vhost: false });
        try {
          await q.execute('device_add', {
            driver: 'virtio-net-pci',
            id: qn.id,
            netdev: netdevIdFor(qn.id),
            mac: qn.mac,
            bus: rootPortId(port),
            romfile: '',
            ...(qn.mtu === undefined ? {} : { host_mtu: qn.mtu }),
          });
        } catch (err) {
          await q.execute('netdev_del', { id: netdevIdFor(qn.id) }).catch(() => undefined);
          throw err;
        }
      });
      await this.writeRuntime(p, { ...rec, config: { ...cfg, nics: [...cfg.nics, qn] } });
    });
  }

  async detachInterface(id: string, portId: string): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      await this.requireProcess(id, p, 'detach an interface from');
      const rec = await this.requireRuntime(p, id);
      const nicId = nicIdFor(portId);
      if (!rec.config.nics.some((n) => n.id === nicId)) return;
      if (rec.config.machine !== 'q35') {
        throw new ComputeError('Unsupported', `instance ${id} runs on microvm, which has no PCI hot-plug: stop it, remove the interface and start it again`);
      }
      const timeoutMs = this.opts.hotplugTimeoutMs ?? 30_000;
      await withQmp(p.qmpSocket, async (q) => {
        const gone = q.waitEvent('DEVICE_DELETED', timeoutMs, (e) => e.data?.['device'] === nicId);
        gone.catch(() => undefined);
        try {
          await q.execute('device_del', { id: nicId });
        } catch (err) {
          // Already unplugged (e.g. a retry after the guest released it): carry on with the netdev.
          if (!(err instanceof QmpError && err.qmpClass === 'DeviceNotFound')) throw err;
        }
        await gone.catch((err: unknown) => {
          if (err instanceof QmpError && err.kind === 'Timeout') {
            throw new ComputeError('HostFailure', `the guest of ${id} did not release interface ${portId} within ${timeoutMs / 1000} s (it must acknowledge PCIe unplug)`);
          }
          throw err;
        });
        await q.execute('netdev_del', { id: netdevIdFor(nicId) }).catch(() => undefined);
      });
      await this.writeRuntime(p, { ...rec, config: { ...rec.config, nics: rec.config.nics.filter((n) => n.id !== nicId) } });
    });
  }

  async snapshotDisk(id: string, dest: ImageFile): Promise<void> {
    const p = this.paths(id);
    await this.locked(id, async () => {
      if (!(await exists(p.overlay))) throw new ComputeError('NotFound', `instance ${id} has no root disk to snapshot`);
      const pid = await findQemuPid(p.pidFile, id);
      if (pid === undefined) {
        await flattenDisk(p.overlay, dest, false);
        return;
      }
      await withQmp(p.qmpSocket, async (q) => {
        const before = await q.execute<{ status: string }>('query-status');
        // Stopping the vCPUs drains and flushes the disks: the overlay is consistent while we read it.
        if (before.status === 'running') await q.execute('stop');
        try {
          await flattenDisk(p.overlay, dest, true);
        } finally {
          if (before.status === 'running') await q.execute('cont');
        }
      }, { timeoutMs: QMP_TIMEOUT_MS });
    });
  }

  async hostFigures(): Promise<HostFigures> {
    this.version ??= await qemuVersion(this.binary);
    await mkdir(this.opts.instancesDir, { recursive: true });
    return hostFigures(this.opts.instancesDir, this.version, this.opts.accel);
  }

  // --- internals -------------------------------------------------------------------------------------------

  /** Runs fn after every earlier operation on the same instance has finished. */
  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }

  private async coldStart(spec: InstanceSpec, p: InstancePaths): Promise<void> {
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    await this.removeRuntimeFiles(p);
    let createdOverlay = false;
    try {
      if (spec.rootDisk) createdOverlay = await ensureOverlay(p.overlay, spec.rootDisk.image, spec.rootDisk.sizeGiB);
      if (spec.configDrive) await buildConfigDrive(spec.configDrive, p.configDrive, p.dir, `Stacklet ${this.host.version}`);
      else await rm(p.configDrive, { force: true });
      await rotateLog(p.consoleLog, p.consoleLogOld);
      const config = qemuConfigFor(spec, p, this.host, false);
      await this.launch(p, config, spec.id);
    } catch (err) {
      if (createdOverlay) await rm(p.overlay, { force: true });
      throw err;
    }
  }

  private async launch(p: InstancePaths, config: QemuConfig, id: string): Promise<number> {
    const argv = renderQemuArgv(config);
    await this.writeRuntime(p, { config, startedAt: new Date().toISOString() });
    let pid: number;
    try {
      const launcher = this.opts.netns === undefined ? [] : ['ip', 'netns', 'exec', this.opts.netns];
      pid = await startDetached({
        command: [...launcher, this.binary],
        argv,
        pidFile: p.pidFile,
        uuid: id,
        qmpSocket: p.qmpSocket,
        logFile: p.qemuLog,
      });
    } catch (err) {
      throw err instanceof ComputeError ? new ComputeError('HostFailure', `starting instance ${id} failed: ${err.message}`, { cause: err }) : err;
    }
    await this.lowerGuestPriority(p, pid);
    return pid;
  }

  /**
   * Lowers the guest's share of the CPU once QEMU has started (its own
   * start-up runs at normal priority). Best effort: a guest at normal
   * priority still runs, the host only feels slower while it boots.
   */
  private async lowerGuestPriority(p: InstancePaths, pid: number): Promise<void> {
    const nice = this.opts.guestNice ?? DEFAULT_GUEST_NICE;
    if (nice === 0) return;
    // With the kernel's session autogroups on (Debian's default), QEMU's session (setsid) is a
    // scheduling group of its own and thread nice values weigh only inside it: the group is lowered too.
    await writeFile(`/proc/${pid}/autogroup`, String(nice)).catch(() => undefined);
    try {
      const cpus = await withQmp(p.qmpSocket, (q) => q.execute<{ 'thread-id'?: number }[]>('query-cpus-fast'), { timeoutMs: QMP_TIMEOUT_MS });
      for (const tid of new Set(cpus.map((c) => c['thread-id']))) {
        // Only a thread of this QEMU: a stale id must never renice someone else's thread.
        if (tid !== undefined && tid !== pid && (await exists(`/proc/${pid}/task/${tid}`))) setPriority(tid, nice);
      }
    } catch {
      // See above: priority is a nicety.
    }
  }

  /** Starts QEMU waiting for the saved state, feeds it in, resumes the guest and drops the file. */
  private async restore(p: InstancePaths, id: string): Promise<void> {
    const rec = await this.requireRuntime(p, id);
    await this.removeRuntimeFiles(p);
    const pid = await this.launch(p, { ...rec.config, incoming: true }, id);
    try {
      await withQmp(p.qmpSocket, async (q) => {
        await restoreState(q, p.migrateSocket, p.savedState, this.opts.stateTimeoutMs ?? 10 * 60_000);
        await q.execute('cont');
      });
    } catch (err) {
      // A QEMU that could not take the state is useless; the state file stays for another try.
      await killHard(pid);
      await this.removeRuntimeFiles(p);
      throw err;
    }
    await rm(p.savedState, { force: true });
    // Later starts are ordinary boots.
    await this.writeRuntime(p, { config: { ...rec.config, incoming: false }, startedAt: new Date().toISOString() });
  }

  /** Clean shutdown within timeoutMs, then QMP quit, then SIGKILL. */
  private async stopProcess(p: InstancePaths, pid: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let q: QmpClient | undefined;
    try {
      q = await QmpClient.connect(p.qmpSocket, { timeoutMs: QMP_TIMEOUT_MS });
      const status = await q.execute<{ status: string }>('query-status');
      // A paused guest cannot see the power button: no point waiting for it.
      if (status.status === 'running') {
        while (Date.now() < deadline) {
          await q.execute('system_powerdown');
          if (await waitExit(pid, Math.min(POWERDOWN_RETRY_MS, deadline - Date.now()))) return;
        }
      }
      await q.execute('quit').catch(() => undefined);
      if (await waitExit(pid, 10_000)) return;
    } catch (err) {
      if (!(err instanceof QmpError)) throw err;
    } finally {
      q?.close();
    }
    await killHard(pid);
  }

  private async statusOf(id: string, p: InstancePaths): Promise<InstanceStatus | undefined> {
    const rec = await this.readRuntime(p);
    const base = { id, ...(rec ? { machine: rec.config.machine, accel: rec.config.accel } : {}) };
    const pid = await findQemuPid(p.pidFile, id);
    if (pid === undefined) {
      if (await exists(p.savedState)) return { ...base, state: 'suspended' };
      if (await exists(p.dir)) return { ...base, state: 'shutdown' };
      return undefined;
    }
    try {
      const s = await withQmp(p.qmpSocket, (q) => q.execute<{ status: string }>('query-status'), { timeoutMs: QMP_TIMEOUT_MS });
      return { ...base, state: powerStateOf(s.status), pid, detail: s.status };
    } catch (err) {
      if (!(err instanceof QmpError)) throw err;
      // The process is there but its monitor does not answer (busy, or someone else holds it).
      return { ...base, state: 'running', pid, detail: `unknown: ${err.message}` };
    }
  }

  private async requireProcess(id: string, p: InstancePaths, what: string): Promise<number> {
    const pid = await findQemuPid(p.pidFile, id);
    if (pid !== undefined) return pid;
    if (!(await exists(p.dir))) throw new ComputeError('NotFound', `no instance ${id} on this host`);
    throw new ComputeError('InvalidState', `cannot ${what} instance ${id}: it is not running`);
  }

  private async readRuntime(p: InstancePaths): Promise<RuntimeRecord | undefined> {
    try {
      const rec = JSON.parse(await readFile(p.runtimeFile, 'utf8')) as RuntimeRecord;
      return rec && typeof rec === 'object' && rec.config ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  private async requireRuntime(p: InstancePaths, id: string): Promise<RuntimeRecord> {
    const rec = await this.readRuntime(p);
    if (!rec) throw new ComputeError('HostFailure', `instance ${id} has no readable ${p.runtimeFile}`);
    return rec;
  }

  private async writeRuntime(p: InstancePaths, rec: RuntimeRecord): Promise<void> {
    const tmp = `${p.runtimeFile}.tmp`;
    await writeFile(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, p.runtimeFile);
  }

  /** What only a running QEMU needs; QEMU removes its pid file itself, but not after SIGKILL. */
  private async removeRuntimeFiles(p: InstancePaths): Promise<void> {
    for (const f of [p.pidFile, p.qmpSocket, p.vncSocket, p.serialSocket, p.migrateSocket]) await rm(f, { force: true });
  }
}
