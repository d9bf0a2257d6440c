import { sql } from 'kysely';
import { nowIso } from '../ids.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import { finishDelete } from './servers.js';
import { flavorOf, type ComputeCore } from './service.js';
import { POWER, powerOfVmState, TASK, VM } from './states.js';

/**
 * What the compute reconciler writes back: it claims a server before it
 * touches the host, completes the task it was asked for (the vm_state the
 * task leads to), reports faults, and reports the power state the
 * hypervisor sees. The API never writes these; the reconciler never writes
 * what the user asked for (name, metadata, desired power).
 */

export interface Fault {
  code: number;
  message: string;
  details?: string | undefined;
}

/** Servers with work to do: a task in progress or a desired state not applied yet. */
export async function pendingServers(core: ComputeCore): Promise<string[]> {
  const rows = await core.instances.db
    .selectFrom('instances')
    .select('id')
    .where('deleted', '=', 0)
    // A task always needs the reconciler (deleting an ERROR server too); a bare spec change of an ERROR server does not.
    .where((eb) => eb.or([eb('task_state', 'is not', null), eb.and([eb('generation', '!=', eb.ref('applied_generation')), eb('vm_state', '!=', VM.ERROR)])]))
    .execute();
  return rows.map((r) => r.id);
}

/** Every live server placed on this host (the reconciler's full pass). */
export async function serversOnHost(core: ComputeCore, host: string): Promise<InstanceRow[]> {
  return core.instances.db.selectFrom('instances').selectAll().where('deleted', '=', 0).where('node', '=', host).execute();
}

/**
 * Takes a server on: from now on only the reconciler may delete it (the API
 * no longer deletes it locally). Returns the row, or undefined if it is
 * gone or was never placed.
 */
export async function claim(core: ComputeCore, id: string): Promise<InstanceRow | undefined> {
  return core.write(async (trx) => {
    const s = await core.instances.get(id, trx);
    if (!s || s.deleted || s.node === null) return undefined;
    if (s.claimed_at === null) {
      const now = nowIso();
      await core.instances.update(trx, id, { claimed_at: now });
      return { ...s, claimed_at: now };
    }
    return s;
  });
}

async function finishOpenAction(core: ComputeCore, trx: Parameters<Parameters<ComputeCore['write']>[0]>[0], id: string, event: string, result: 'Success' | 'Error', message: string | null, host: string | null): Promise<void> {
  const open = await core.instances.openAction(id, trx);
  if (!open) return;
  const now = nowIso();
  await core.instances.insertEvent(trx, { action_id: open.id, event, start_time: open.start_time, finish_time: now, result, traceback: null, host });
  await core.instances.finishAction(trx, open.id, now, message);
}

/** The vm_state, task and extras a finished task leads to. */
function outcome(s: InstanceRow): { patch: Partial<InstanceRow>; event: string } | { deleting: true } {
  const now = nowIso();
  const settled = (vm: string) => ({ vm_state: vm, task_state: null, power_state: powerOfVmState(vm) });
  const byDesired = () => (s.desired_power === 'shutdown' ? VM.STOPPED : s.desired_power === 'paused' ? VM.PAUSED : s.desired_power === 'suspended' ? VM.SUSPENDED : VM.ACTIVE);
  switch (s.task_state) {
    case TASK.DELETING:
      return { deleting: true };
    case TASK.SPAWNING:
    case TASK.SCHEDULING:
    case TASK.NETWORKING:
      return { patch: { ...settled(VM.ACTIVE), launched_at: now, fault_code: null, fault_message: null, fault_details: null, fault_created: null }, event: 'compute__do_build_and_run_instance' };
    case TASK.POWERING_OFF:
      return { patch: settled(VM.STOPPED), event: 'compute_stop_instance' };
    case TASK.POWERING_ON:
      return { patch: settled(VM.ACTIVE), event: 'compute_start_instance' };
    case TASK.REBOOTING:
    case TASK.REBOOTING_HARD:
      return { patch: settled(VM.ACTIVE), event: 'compute_reboot_instance' };
    case TASK.PAUSING:
      return { patch: settled(VM.PAUSED), event: 'compute_pause_instance' };
    case TASK.UNPAUSING:
      return { patch: settled(VM.ACTIVE), event: 'compute_unpause_instance' };
    case TASK.SUSPENDING:
      return { patch: settled(VM.SUSPENDED), event: 'compute_suspend_instance' };
    case TASK.RESUMING:
      return { patch: settled(VM.ACTIVE), event: 'compute_resume_instance' };
    case TASK.REBUILDING:
    case TASK.REBUILD_SPAWNING:
      return { patch: { ...settled(byDesired()), launched_at: now, fault_code: null, fault_message: null, fault_details: null, fault_created: null }, event: 'compute_rebuild_instance' };
    case TASK.IMAGE_SNAPSHOT:
    case TASK.IMAGE_SNAPSHOT_PENDING:
    case TASK.IMAGE_PENDING_UPLOAD:
    case TASK.IMAGE_UPLOADING:
      return { patch: { task_state: null }, event: 'compute_snapshot_instance' };
    case TASK.RESIZE_PREP:
    case TASK.RESIZE_MIGRATING:
    case TASK.RESIZE_MIGRATED:
    case TASK.RESIZE_FINISH:
      return {
        patch: {
          vm_state: VM.RESIZED,
          task_state: null,
          power_state: s.desired_power === 'shutdown' ? POWER.SHUTDOWN : POWER.RUNNING,
          old_flavor: s.flavor,
          flavor: s.new_flavor ?? s.flavor,
          flavor_id: flavorOf({ flavor: s.new_flavor ?? s.flavor }).id,
          new_flavor: null,
        },
        event: 'compute_finish_resize',
      };
    case TASK.RESIZE_REVERTING:
      return {
        patch: {
          ...settled(s.desired_power === 'shutdown' ? VM.STOPPED : VM.ACTIVE),
          flavor: s.new_flavor ?? s.old_flavor ?? s.flavor,
          flavor_id: flavorOf({ flavor: s.new_flavor ?? s.old_flavor ?? s.flavor }).id,
          new_flavor: null,
          old_flavor: null,
        },
        event: 'compute_finish_revert_resize',
      };
    default:
      return { patch: {}, event: 'compute_sync' };
  }
}

/**
 * The reconciler finished what generation `generation` asked for: the task
 * leads to its vm_state (spawning → ACTIVE, powering-off → SHUTOFF, ...).
 * A deleting server is released and marked deleted.
 */
export async function complete(core: ComputeCore, id: string, generation: number): Promise<InstanceRow | undefined> {
  const s = await core.instances.get(id);
  if (!s || s.deleted) return undefined;
  const o = outcome(s);
  if ('deleting' in o) {
    await finishDelete(core, id);
    return undefined;
  }
  return core.write(async (trx, batch) => {
    const cur = await core.instances.get(id, trx);
    if (!cur || cur.deleted) return undefined;
    // A newer request arrived while the reconciler worked: its task stays for the next pass.
    const taskChanged = cur.task_state !== s.task_state;
    const patch: Partial<InstanceRow> = taskChanged ? {} : { ...o.patch };
    patch.applied_generation = Math.max(cur.applied_generation, generation);
    patch.updated_at = nowIso();
    await core.instances.update(trx, id, patch);
    if (!taskChanged && s.task_state !== null) await finishOpenAction(core, trx, id, o.event, 'Success', null, cur.node);
    batch.add('server', id, 'update');
    return { ...cur, ...patch };
  });
}

/**
 * The reconciler could not do the task: the server goes to ERROR with a
 * fault a person can act on (what failed and what to do).
 */
export async function fail(core: ComputeCore, id: string, fault: Fault, generation?: number): Promise<void> {
  await core.write(async (trx, batch) => {
    const cur = await core.instances.get(id, trx);
    if (!cur || cur.deleted) return;
    const now = nowIso();
    const patch: Partial<InstanceRow> = {
      vm_state: VM.ERROR,
      task_state: null,
      fault_code: fault.code,
      fault_message: fault.message,
      fault_details: fault.details ?? null,
      fault_created: now,
      updated_at: now,
    };
    if (generation !== undefined) patch.applied_generation = Math.max(cur.applied_generation, generation);
    await core.instances.update(trx, id, patch);
    await finishOpenAction(core, trx, id, 'compute_error', 'Error', fault.message, cur.node);
    batch.add('server', id, 'update');
  });
}

/**
 * The hypervisor's word on power (Nova's power sync): recorded always; while
 * no task runs, a guest found off when it should run makes the server
 * SHUTOFF (never silently ACTIVE), and one found running or paused when the
 * store thought otherwise is brought in line.
 */
export async function observePower(core: ComputeCore, id: string, power: number): Promise<InstanceRow | undefined> {
  return core.write(async (trx, batch) => {
    const s = await core.instances.get(id, trx);
    if (!s || s.deleted) return undefined;
    const patch: Partial<InstanceRow> = {};
    if (s.power_state !== power) patch.power_state = power;
    if (s.task_state === null && s.vm_state !== VM.ERROR && s.vm_state !== VM.BUILDING && s.vm_state !== VM.RESIZED) {
      const off = power === POWER.SHUTDOWN || power === POWER.CRASHED || power === POWER.NOSTATE;
      if (off && s.vm_state !== VM.STOPPED && s.vm_state !== VM.SUSPENDED) {
        patch.vm_state = VM.STOPPED;
        patch.desired_power = 'shutdown';
      } else if (power === POWER.PAUSED && s.vm_state === VM.ACTIVE) {
        patch.vm_state = VM.PAUSED;
        patch.desired_power = 'paused';
      } else if (power === POWER.SUSPENDED && s.vm_state === VM.ACTIVE) {
        patch.vm_state = VM.SUSPENDED;
        patch.desired_power = 'suspended';
      }
    }
    if (Object.keys(patch).length === 0) return s;
    patch.updated_at = nowIso();
    await core.instances.update(trx, id, patch);
    if (patch.vm_state !== undefined) batch.add('server', id, 'update');
    return { ...s, ...patch };
  });
}

/** Snapshot progress, as the reconciler uploads it (pending → uploading → done | error). */
export async function setSnapshotStatus(core: ComputeCore, imageId: string, status: 'uploading' | 'done' | 'error'): Promise<void> {
  await core.write(async (trx) => {
    await core.instances.setSnapshotStatus(trx, imageId, status);
    if (status === 'uploading') {
      await trx
        .updateTable('instances')
        .set({ task_state: TASK.IMAGE_UPLOADING })
        .where('id', '=', (eb) => eb.selectFrom('instance_snapshots').select('instance_id').where('image_id', '=', imageId))
        .where('task_state', 'in', [TASK.IMAGE_SNAPSHOT_PENDING, TASK.IMAGE_SNAPSHOT, TASK.IMAGE_PENDING_UPLOAD])
        .execute();
    }
  });
}

/** Snapshots waiting for the reconciler. */
export function pendingSnapshots(core: ComputeCore) {
  return core.instances.db.selectFrom('instance_snapshots').selectAll().where('status', 'in', ['pending', 'uploading']).orderBy(sql`created_at`).execute();
}
