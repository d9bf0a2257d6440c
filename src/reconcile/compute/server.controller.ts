import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ComputeDriver, InstanceSpec, PowerState } from '../../host/compute/driver.js';
import { isComputeError } from '../../host/compute/errors.js';
import { claim, complete, fail, observePower, pendingSnapshots, setSnapshotStatus, type Fault } from '../../core/compute/lifecycle.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { POWER, TASK } from '../../core/compute/states.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import type { Controller } from '../controller.js';
import { TerminalError } from '../controller.js';
import { buildSpec, type BindingFor, type ComputeImages } from './spec.js';

/** What the server controller works with. */
export interface ServerControllerDeps {
  core: ComputeCore;
  driver: ComputeDriver;
  bindingFor: BindingFor;
  images: ComputeImages;
  log: Logger;
  /** Where snapshot files are written before the image service takes them (default: the OS temp dir). */
  scratchDir?: string;
}

/** How long to wait for the network side to plug a port before looking again. */
export const BINDING_WAIT_MS = 200;

const POWER_OF: Record<PowerState, number> = { running: POWER.RUNNING, paused: POWER.PAUSED, suspended: POWER.SUSPENDED, shutdown: POWER.SHUTDOWN, crashed: POWER.CRASHED };

/** Waiting for something outside this controller (a port binding): look again shortly. */
class Wait {
  constructor(readonly what: string) {}
}

/**
 * Makes QEMU match the Nova model, one server at a time: the task the API
 * set (spawn, stop, start, reboot, pause, suspend, snapshot, resize,
 * rebuild, delete) is done on the driver and completed in the store; with
 * no task, the hypervisor's power state is reported (a guest that died
 * while ACTIVE becomes SHUTOFF). A failed task leaves the server in ERROR
 * with a fault that says what failed and what to do.
 */
export class ServerController implements Controller {
  readonly kinds = ['server'] as const;
  readonly name = 'compute-servers';
  readonly concurrency = 4;

  constructor(private readonly deps: ServerControllerDeps) {}

  async listKeys(): Promise<string[]> {
    const rows = await this.deps.core.instances.db.selectFrom('instances').select('id').where('deleted', '=', 0).execute();
    return rows.map((r) => r.id);
  }

  keysFor(kind: string, id: string): string[] {
    return kind === 'server' ? [id] : [];
  }

  async reconcile(id: string): Promise<{ requeueAfterMs?: number } | void> {
    const { core, log } = this.deps;
    const s = await claim(core, id);
    if (!s) return;
    const gen = s.generation;
    if (s.task_state === null) {
      // A desired-state change without a task (metadata, name) needs nothing on the host until the next start.
      if (s.generation !== s.applied_generation) await complete(core, id, gen);
      await this.syncPower(id);
      return;
    }
    const task = s.task_state;
    const started = performance.now();
    try {
      await this.doTask(s);
    } catch (err) {
      if (err instanceof Wait) {
        log.debug({ server: id, waitingFor: err.what }, 'server waits for its network binding');
        return { requeueAfterMs: BINDING_WAIT_MS };
      }
      // Deleting never ends in ERROR: the host is asked again until it lets go.
      if (task === TASK.DELETING) throw err;
      const fault = faultOf(task, id, err);
      log.warn({ server: id, task, err }, fault.message);
      await fail(core, id, fault, gen);
      await this.syncPower(id);
      return;
    }
    log.debug({ server: id, task, ms: Math.round(performance.now() - started) }, 'server task done on the host');
    const after = await complete(core, id, gen);
    if (after) await this.syncPower(id);
  }

  /** Destroys instances on the host that no live server owns (leftovers of a crash mid-delete, or of a wiped store). */
  async collectGarbage(): Promise<void> {
    const { core, driver, log } = this.deps;
    const onHost = await driver.list();
    if (onHost.length === 0) return;
    const rows = await core.instances.getMany(onHost.map((i) => i.id));
    for (const inst of onHost) {
      const row = rows.get(inst.id);
      if (row && !row.deleted) continue;
      log.info({ server: inst.id }, 'destroying an instance no live server owns');
      await driver.destroy(inst.id);
    }
  }

  /** Nova's power sync: the hypervisor's word, recorded while no task runs (lifecycle.observePower decides). */
  private async syncPower(id: string): Promise<void> {
    const st = await this.deps.driver.status(id);
    await observePower(this.deps.core, id, st ? POWER_OF[st.state] : POWER.SHUTDOWN);
  }

  private async spec(s: InstanceRow, flavorJson?: string): Promise<InstanceSpec> {
    const r = await buildSpec(this.deps.core, this.deps.images, this.deps.bindingFor, s, flavorJson);
    if ('waitFor' in r) throw new Wait(r.waitFor);
    if ('invalid' in r) throw new TerminalError(r.invalid);
    return r.spec;
  }

  private async doTask(s: InstanceRow): Promise<void> {
    const { driver } = this.deps;
    const id = s.id;
    switch (s.task_state) {
      case TASK.SCHEDULING:
      case TASK.NETWORKING:
      case TASK.SPAWNING:
      case TASK.POWERING_ON:
      case TASK.RESUMING:
        await driver.ensureRunning(await this.spec(s));
        return;
      case TASK.POWERING_OFF:
        await driver.powerOff(id);
        return;
      case TASK.REBOOTING:
      case TASK.REBOOT_PENDING:
      case TASK.REBOOT_STARTED: {
        // A guest that is not running cannot be asked to reboot: start it, as Nova's soft reboot of a stopped guest does.
        const st = await driver.status(id);
        if (st?.state === 'running') await driver.reboot(id, 'soft');
        else await driver.ensureRunning(await this.spec(s));
        return;
      }
      case TASK.REBOOTING_HARD:
      case TASK.REBOOT_PENDING_HARD:
      case TASK.REBOOT_STARTED_HARD: {
        const st = await driver.status(id);
        if (st?.state === 'running' || st?.state === 'paused' || st?.state === 'crashed') await driver.reboot(id, 'hard');
        else await driver.ensureRunning(await this.spec(s));
        if (st?.state === 'paused') await driver.unpause(id);
        return;
      }
      case TASK.PAUSING:
        await driver.pause(id);
        return;
      case TASK.UNPAUSING:
        await driver.unpause(id);
        return;
      case TASK.SUSPENDING:
        await driver.suspend(id);
        return;
      case TASK.REBUILDING:
      case TASK.REBUILD_SPAWNING: {
        const spec = await this.spec(s);
        await driver.destroy(id);
        if (s.desired_power !== 'shutdown') await driver.ensureRunning(spec);
        return;
      }
      case TASK.RESIZE_PREP:
      case TASK.RESIZE_MIGRATING:
      case TASK.RESIZE_MIGRATED:
      case TASK.RESIZE_FINISH:
        await this.restartWith(s, s.new_flavor ?? s.flavor);
        return;
      case TASK.RESIZE_REVERTING:
        await this.restartWith(s, s.new_flavor ?? s.old_flavor ?? s.flavor);
        return;
      case TASK.IMAGE_SNAPSHOT:
      case TASK.IMAGE_SNAPSHOT_PENDING:
      case TASK.IMAGE_PENDING_UPLOAD:
      case TASK.IMAGE_UPLOADING:
        await this.snapshots(id);
        return;
      case TASK.DELETING:
        await driver.destroy(id);
        return;
      default:
        return;
    }
  }

  /** A new size takes a new QEMU: the guest is shut down and started with the other flavor (unless it was meant to stay off). */
  private async restartWith(s: InstanceRow, flavorJson: string): Promise<void> {
    const spec = await this.spec(s, flavorJson);
    await this.deps.driver.powerOff(s.id);
    if (s.desired_power !== 'shutdown') await this.deps.driver.ensureRunning(spec);
  }

  /**
   * Writes every pending snapshot of the server: the flattened root disk
   * into a scratch file, then into the image the API reserved. A failed
   * snapshot marks its image `error` and leaves the server as it was (as in
   * Nova, a snapshot failure does not break the server).
   */
  private async snapshots(id: string): Promise<void> {
    const { core, driver, images, log } = this.deps;
    for (const snap of await pendingSnapshots(core)) {
      if (snap.instance_id !== id) continue;
      const dir = await mkdtemp(join(this.deps.scratchDir ?? tmpdir(), 'stacklet-snap-'));
      const file = { path: join(dir, `${snap.image_id}.qcow2`), format: 'qcow2' as const };
      try {
        await setSnapshotStatus(core, snap.image_id, 'uploading');
        await driver.snapshotDisk(id, file);
        await images.uploadSnapshot({ imageId: snap.image_id, name: snap.name, projectId: snap.project_id, instanceId: id, properties: propertiesOf(snap.properties) }, file);
        await setSnapshotStatus(core, snap.image_id, 'done');
      } catch (err) {
        log.warn({ server: id, image: snap.image_id, err }, 'snapshot failed');
        await setSnapshotStatus(core, snap.image_id, 'error');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
}

function propertiesOf(json: string): Record<string, string> {
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

const WHAT: Record<string, string> = {
  [TASK.SPAWNING]: 'Build',
  [TASK.SCHEDULING]: 'Build',
  [TASK.NETWORKING]: 'Build',
  [TASK.POWERING_ON]: 'Start',
  [TASK.POWERING_OFF]: 'Stop',
  [TASK.RESUMING]: 'Resume',
  [TASK.SUSPENDING]: 'Suspend',
  [TASK.PAUSING]: 'Pause',
  [TASK.UNPAUSING]: 'Unpause',
  [TASK.REBUILDING]: 'Rebuild',
  [TASK.REBUILD_SPAWNING]: 'Rebuild',
};

/** A fault a person can act on: what failed, the host's reason, and where to look next. */
export function faultOf(task: string, id: string, err: unknown): Fault {
  const what = WHAT[task] ?? (task.startsWith('reboot') ? 'Reboot' : task.startsWith('resize') ? 'Resize' : `Task ${task}`);
  const reason = err instanceof Error ? err.message : String(err);
  if (err instanceof TerminalError || isComputeError(err, 'InvalidSpec', 'Unsupported')) {
    return { code: 400, message: `${what} of instance ${id} failed: ${reason}`, details: 'The request cannot be run on this host as it stands; fix what the message names, then rebuild or delete the server.' };
  }
  return {
    code: 500,
    message: `${what} of instance ${id} failed on the host: ${reason}`,
    details: `Host failure. Read the server's console log (openstack console log show ${id}) and the Stacklet log; reset the state (openstack server set --state active ${id}) and retry, or delete the server.`,
  };
}
