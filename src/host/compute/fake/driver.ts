import type {
  AccelChoice,
  ComputeDriver,
  DestroyOptions,
  HostFigures,
  ImageFile,
  InstanceSpec,
  InstanceStatus,
  NicBinding,
  PowerState,
} from '../driver.js';
import { ComputeError } from '../errors.js';
import { machineFor, validateSpec } from '../qemu/config.js';
import { checkInstanceId } from '../qemu/layout.js';

/**
 * An in-memory compute driver for reconciler unit tests: the same contract
 * as the QEMU driver (same errors for the same situations, checked by the
 * shared conformance suite), no processes. It records every call so a
 * controller test can assert the actions taken, and lets a test play the
 * host: crash an instance, make the next call fail.
 */

/** One call the fake received. */
export interface FakeCall {
  method: keyof ComputeDriver;
  id?: string;
  arg?: unknown;
}

interface FakeInstance {
  spec: InstanceSpec;
  state: PowerState;
  pid: number;
  nics: NicBinding[];
  log: string[];
  hasOverlay: boolean;
}

/** Options of the fake. */
export interface FakeComputeOptions {
  accel?: AccelChoice;
  host?: Partial<HostFigures>;
}

/** In-memory ComputeDriver. */
export class FakeComputeDriver implements ComputeDriver {
  /** Every call, in order. */
  readonly calls: FakeCall[] = [];
  /** Snapshots written by snapshotDisk (dest path → source instance id). */
  readonly snapshots = new Map<string, string>();
  private readonly instances = new Map<string, FakeInstance>();
  private readonly failures: Array<{ method: keyof ComputeDriver; error: Error }> = [];
  private nextPid = 1000;

  constructor(private readonly opts: FakeComputeOptions = {}) {}

  // --- test controls ----------------------------------------------------------------------------------------

  /** The next call of `method` throws `error` (default: a HostFailure). */
  failNext(method: keyof ComputeDriver, error: Error = new ComputeError('HostFailure', `injected failure of ${method}`)): void {
    this.failures.push({ method, error });
  }

  /** QEMU dies under the instance (killed by hand, OOM): it shows as shut down. */
  crash(id: string): void {
    const inst = this.instances.get(id);
    if (inst && this.hasProcess(inst)) inst.state = 'shutdown';
  }

  /** Appends lines to an instance's console log. */
  writeConsole(id: string, ...lines: string[]): void {
    this.instances.get(id)?.log.push(...lines);
  }

  /** The NICs an instance currently has (cold- and hot-plugged). */
  nicsOf(id: string): NicBinding[] {
    return [...(this.instances.get(id)?.nics ?? [])];
  }

  /** Forgets the recorded calls. */
  resetCalls(): void {
    this.calls.length = 0;
  }

  // --- ComputeDriver ----------------------------------------------------------------------------------------

  async ensureRunning(spec: InstanceSpec): Promise<InstanceStatus> {
    this.enter('ensureRunning', spec.id, spec);
    checkInstanceId(spec.id);
    validateSpec(spec);
    const inst = this.instances.get(spec.id);
    if (inst && this.hasProcess(inst)) return this.statusOf(spec.id, inst);
    if (inst && inst.state === 'suspended') {
      inst.state = 'running';
      inst.pid = this.nextPid++;
      return this.statusOf(spec.id, inst);
    }
    const next: FakeInstance = {
      spec: structuredClone(spec),
      state: 'running',
      pid: this.nextPid++,
      nics: structuredClone(spec.nics),
      log: [...(inst?.log ?? []), `booting ${spec.name}`],
      hasOverlay: spec.rootDisk !== undefined,
    };
    this.instances.set(spec.id, next);
    return this.statusOf(spec.id, next);
  }

  async powerOff(id: string, opts?: { timeoutMs?: number }): Promise<void> {
    this.enter('powerOff', id, opts);
    const inst = this.instances.get(id);
    if (inst) inst.state = 'shutdown';
  }

  async reboot(id: string, kind: 'soft' | 'hard'): Promise<void> {
    this.enter('reboot', id, kind);
    const inst = this.running(id, 'reboot');
    inst.state = 'running';
    inst.log.push(`rebooting (${kind})`);
  }

  async pause(id: string): Promise<void> {
    this.enter('pause', id);
    this.running(id, 'pause').state = 'paused';
  }

  async unpause(id: string): Promise<void> {
    this.enter('unpause', id);
    this.running(id, 'unpause').state = 'running';
  }

  async suspend(id: string): Promise<void> {
    this.enter('suspend', id);
    const inst = this.instances.get(id);
    if (inst?.state === 'suspended') return;
    this.running(id, 'suspend').state = 'suspended';
  }

  async destroy(id: string, opts?: DestroyOptions): Promise<void> {
    this.enter('destroy', id, opts);
    checkInstanceId(id);
    this.instances.delete(id);
  }

  async status(id: string): Promise<InstanceStatus | undefined> {
    this.enter('status', id);
    checkInstanceId(id);
    const inst = this.instances.get(id);
    return inst ? this.statusOf(id, inst) : undefined;
  }

  async list(): Promise<InstanceStatus[]> {
    this.enter('list');
    return [...this.instances.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, inst]) => this.statusOf(id, inst));
  }

  async consoleLog(id: string, opts: { lines?: number } = {}): Promise<string> {
    this.enter('consoleLog', id, opts);
    const inst = this.known(id);
    const lines = opts.lines === undefined ? inst.log : opts.lines <= 0 ? [] : inst.log.slice(-opts.lines);
    return lines.map((l) => `${l}\n`).join('');
  }

  async vncSocket(id: string): Promise<string> {
    this.enter('vncSocket', id);
    this.running(id, 'open a console of');
    return `/fake/${id}/vnc.sock`;
  }

  async attachInterface(id: string, nic: NicBinding): Promise<void> {
    this.enter('attachInterface', id, nic);
    const inst = this.running(id, 'attach an interface to');
    if (inst.nics.some((n) => n.portId === nic.portId)) return;
    if (machineFor(inst.spec) !== 'q35') throw new ComputeError('Unsupported', `instance ${id} runs on microvm, which has no PCI hot-plug`);
    inst.nics.push(structuredClone(nic));
  }

  async detachInterface(id: string, portId: string): Promise<void> {
    this.enter('detachInterface', id, portId);
    const inst = this.running(id, 'detach an interface from');
    if (!inst.nics.some((n) => n.portId === portId)) return;
    if (machineFor(inst.spec) !== 'q35') throw new ComputeError('Unsupported', `instance ${id} runs on microvm, which has no PCI hot-plug`);
    inst.nics = inst.nics.filter((n) => n.portId !== portId);
  }

  async snapshotDisk(id: string, dest: ImageFile): Promise<void> {
    this.enter('snapshotDisk', id, dest);
    const inst = this.known(id);
    if (!inst.hasOverlay) throw new ComputeError('NotFound', `instance ${id} has no root disk to snapshot`);
    this.snapshots.set(dest.path, id);
  }

  async hostFigures(): Promise<HostFigures> {
    this.enter('hostFigures');
    return {
      hostname: 'fake-host',
      vcpus: 4,
      memoryTotalMiB: 8192,
      memoryFreeMiB: 6144,
      diskTotalGiB: 100,
      diskFreeGiB: 80,
      qemuVersion: '0.0.0-fake',
      accel: this.opts.accel ?? { accel: 'tcg', reason: 'fake driver' },
      cpuModel: 'fake CPU',
      ...this.opts.host,
    };
  }

  // --- internals --------------------------------------------------------------------------------------------

  private enter(method: keyof ComputeDriver, id?: string, arg?: unknown): void {
    this.calls.push({ method, ...(id === undefined ? {} : { id }), ...(arg === undefined ? {} : { arg: structuredClone(arg) }) });
    const i = this.failures.findIndex((f) => f.method === method);
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      if (f) throw f.error;
    }
  }

  private hasProcess(inst: FakeInstance): boolean {
    return inst.state === 'running' || inst.state === 'paused' || inst.state === 'crashed';
  }

  private known(id: string): FakeInstance {
    checkInstanceId(id);
    const inst = this.instances.get(id);
    if (!inst) throw new ComputeError('NotFound', `no instance ${id} on this host`);
    return inst;
  }

  private running(id: string, what: string): FakeInstance {
    const inst = this.known(id);
    if (!this.hasProcess(inst)) throw new ComputeError('InvalidState', `cannot ${what} instance ${id}: it is not running`);
    return inst;
  }

  private statusOf(id: string, inst: FakeInstance): InstanceStatus {
    const state = inst.state;
    const proc = this.hasProcess(inst);
    return {
      id,
      state,
      machine: machineFor(inst.spec),
      accel: (this.opts.accel ?? { accel: 'tcg' }).accel,
      ...(proc ? { pid: inst.pid, detail: state === 'paused' ? 'paused' : 'running' } : {}),
    };
  }
}
