import { badRequest, conflict } from '../errors.js';

/**
 * Nova's three axes for a server: vm_state (what it is), task_state (what
 * is being done to it) and power_state (what the hypervisor says), and the
 * status the API shows, derived from the first two. Which action is allowed
 * in which state follows Nova's compute API, so clients see the same 409s.
 */

export const VM = {
  ACTIVE: 'active',
  BUILDING: 'building',
  PAUSED: 'paused',
  SUSPENDED: 'suspended',
  STOPPED: 'stopped',
  RESCUED: 'rescued',
  RESIZED: 'resized',
  SOFT_DELETED: 'soft-delete',
  DELETED: 'deleted',
  ERROR: 'error',
  SHELVED: 'shelved',
  SHELVED_OFFLOADED: 'shelved_offloaded',
} as const;
export type VmState = (typeof VM)[keyof typeof VM];

export const TASK = {
  SCHEDULING: 'scheduling',
  NETWORKING: 'networking',
  SPAWNING: 'spawning',
  IMAGE_SNAPSHOT: 'image_snapshot',
  IMAGE_SNAPSHOT_PENDING: 'image_snapshot_pending',
  IMAGE_PENDING_UPLOAD: 'image_pending_upload',
  IMAGE_UPLOADING: 'image_uploading',
  RESIZE_PREP: 'resize_prep',
  RESIZE_MIGRATING: 'resize_migrating',
  RESIZE_MIGRATED: 'resize_migrated',
  RESIZE_FINISH: 'resize_finish',
  RESIZE_REVERTING: 'resize_reverting',
  RESIZE_CONFIRMING: 'resize_confirming',
  REBOOTING: 'rebooting',
  REBOOT_PENDING: 'reboot_pending',
  REBOOT_STARTED: 'reboot_started',
  REBOOTING_HARD: 'rebooting_hard',
  REBOOT_PENDING_HARD: 'reboot_pending_hard',
  REBOOT_STARTED_HARD: 'reboot_started_hard',
  PAUSING: 'pausing',
  UNPAUSING: 'unpausing',
  SUSPENDING: 'suspending',
  RESUMING: 'resuming',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  REBUILDING: 'rebuilding',
  REBUILD_SPAWNING: 'rebuild_spawning',
  MIGRATING: 'migrating',
  DELETING: 'deleting',
} as const;
export type TaskState = (typeof TASK)[keyof typeof TASK];

/** Nova's power_state numbers. */
export const POWER = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;

/** What the reconciler is asked to make true of the guest. */
export type DesiredPower = 'running' | 'shutdown' | 'paused' | 'suspended';

const STATUS_MAP: Record<string, Record<string, string>> = {
  [VM.ACTIVE]: {
    default: 'ACTIVE',
    [TASK.REBOOTING]: 'REBOOT',
    [TASK.REBOOT_PENDING]: 'REBOOT',
    [TASK.REBOOT_STARTED]: 'REBOOT',
    [TASK.REBOOTING_HARD]: 'HARD_REBOOT',
    [TASK.REBOOT_PENDING_HARD]: 'HARD_REBOOT',
    [TASK.REBOOT_STARTED_HARD]: 'HARD_REBOOT',
    [TASK.REBUILDING]: 'REBUILD',
    [TASK.REBUILD_SPAWNING]: 'REBUILD',
    [TASK.MIGRATING]: 'MIGRATING',
    [TASK.RESIZE_PREP]: 'RESIZE',
    [TASK.RESIZE_MIGRATING]: 'RESIZE',
    [TASK.RESIZE_MIGRATED]: 'RESIZE',
    [TASK.RESIZE_FINISH]: 'RESIZE',
  },
  [VM.BUILDING]: { default: 'BUILD' },
  [VM.STOPPED]: {
    default: 'SHUTOFF',
    [TASK.RESIZE_PREP]: 'RESIZE',
    [TASK.RESIZE_MIGRATING]: 'RESIZE',
    [TASK.RESIZE_MIGRATED]: 'RESIZE',
    [TASK.RESIZE_FINISH]: 'RESIZE',
    [TASK.REBUILDING]: 'REBUILD',
    [TASK.REBUILD_SPAWNING]: 'REBUILD',
  },
  [VM.RESIZED]: { default: 'VERIFY_RESIZE', [TASK.RESIZE_REVERTING]: 'REVERT_RESIZE' },
  [VM.PAUSED]: { default: 'PAUSED', [TASK.MIGRATING]: 'MIGRATING' },
  [VM.SUSPENDED]: { default: 'SUSPENDED' },
  [VM.RESCUED]: { default: 'RESCUE' },
  [VM.ERROR]: { default: 'ERROR', [TASK.REBUILDING]: 'REBUILD', [TASK.REBUILD_SPAWNING]: 'REBUILD' },
  [VM.DELETED]: { default: 'DELETED' },
  [VM.SOFT_DELETED]: { default: 'SOFT_DELETED' },
  [VM.SHELVED]: { default: 'SHELVED' },
  [VM.SHELVED_OFFLOADED]: { default: 'SHELVED_OFFLOADED' },
};

/** The API status of a server (ACTIVE, BUILD, SHUTOFF, REBOOT, ...). */
export function statusOf(vmState: string, taskState: string | null, deleted = false): string {
  if (deleted) return 'DELETED';
  const m = STATUS_MAP[vmState];
  if (!m) return 'UNKNOWN';
  return (taskState !== null ? m[taskState] : undefined) ?? m['default'] ?? 'UNKNOWN';
}

/** Every status a user may filter on (Nova 2.38 rejects others with 400). */
export const KNOWN_STATUSES = new Set([
  ...Object.values(STATUS_MAP).flatMap((m) => Object.values(m)),
  'UNKNOWN',
]);

/**
 * The (vm_state, task_state) pairs a list of statuses stands for, as a
 * predicate over rows. Nova maps statuses to vm/task state sets the same way.
 */
export function statusMatcher(statuses: string[]): (vmState: string, taskState: string | null) => boolean {
  const wanted = new Set(statuses.map((s) => s.toUpperCase()));
  return (vm, task) => wanted.has(statusOf(vm, task));
}

/** Throws Nova's 400 for a status filter that names no status (2.38). */
export function validateStatusFilter(statuses: string[]): void {
  for (const s of statuses) {
    if (!KNOWN_STATUSES.has(s.toUpperCase())) {
      throw badRequest(`Invalid status value: ${s}. Use one of: ${[...KNOWN_STATUSES].sort().join(', ')}.`);
    }
  }
}

/** What an action requires of a server's states, after Nova's check_instance_state. */
export interface StateRule {
  /** Allowed vm states; undefined allows any. */
  vm?: readonly string[];
  /** Allowed task states; undefined allows any. Default: only no task ([null]). */
  task?: readonly (string | null)[] | undefined;
  /** The server must have run at least once (launched_at set). */
  mustHaveLaunched?: boolean;
}

const NO_TASK = [null] as const;
const ALLOW_REBOOT = [
  null,
  TASK.REBOOTING,
  TASK.REBOOT_PENDING,
  TASK.REBOOT_STARTED,
  TASK.RESUMING,
  TASK.REBOOTING_HARD,
  TASK.UNPAUSING,
  TASK.PAUSING,
  TASK.SUSPENDING,
];

/** The rules, by the action name Nova prints in its 409 messages. */
export const STATE_RULES: Record<string, StateRule> = {
  stop: { vm: [VM.ACTIVE, VM.ERROR], task: NO_TASK, mustHaveLaunched: true },
  start: { vm: [VM.STOPPED], task: NO_TASK, mustHaveLaunched: true },
  reboot: { vm: [VM.ACTIVE], task: NO_TASK, mustHaveLaunched: true },
  reboot_hard: { vm: [VM.ACTIVE, VM.STOPPED, VM.PAUSED, VM.SUSPENDED, VM.ERROR], task: ALLOW_REBOOT, mustHaveLaunched: true },
  rebuild: { vm: [VM.ACTIVE, VM.STOPPED, VM.ERROR], task: NO_TASK, mustHaveLaunched: true },
  pause: { vm: [VM.ACTIVE], task: NO_TASK, mustHaveLaunched: true },
  unpause: { vm: [VM.PAUSED], task: NO_TASK, mustHaveLaunched: true },
  suspend: { vm: [VM.ACTIVE], task: NO_TASK, mustHaveLaunched: true },
  resume: { vm: [VM.SUSPENDED], task: NO_TASK, mustHaveLaunched: true },
  createImage: { vm: [VM.ACTIVE, VM.STOPPED, VM.PAUSED, VM.SUSPENDED], task: NO_TASK, mustHaveLaunched: true },
  resize: { vm: [VM.ACTIVE, VM.STOPPED], task: NO_TASK, mustHaveLaunched: true },
  confirmResize: { vm: [VM.RESIZED], task: NO_TASK, mustHaveLaunched: true },
  revertResize: { vm: [VM.RESIZED], task: NO_TASK, mustHaveLaunched: true },
  delete: { mustHaveLaunched: false },
  forceDelete: { mustHaveLaunched: false },
  'update metadata': { vm: [VM.ACTIVE, VM.PAUSED, VM.SUSPENDED, VM.STOPPED], mustHaveLaunched: true },
  'delete metadata': { vm: [VM.ACTIVE, VM.PAUSED, VM.SUSPENDED, VM.STOPPED], mustHaveLaunched: true },
  'update tag': { vm: [VM.ACTIVE, VM.PAUSED, VM.SUSPENDED, VM.STOPPED] },
  'update tags': { vm: [VM.ACTIVE, VM.PAUSED, VM.SUSPENDED, VM.STOPPED] },
  'delete tag': { vm: [VM.ACTIVE, VM.PAUSED, VM.SUSPENDED, VM.STOPPED] },
  'delete tags': { vm: [VM.ACTIVE, VM.PAUSED, VM.SUSPENDED, VM.STOPPED] },
  attach_interface: { vm: [VM.ACTIVE, VM.PAUSED, VM.STOPPED], task: NO_TASK, mustHaveLaunched: true },
  detach_interface: { vm: [VM.ACTIVE, VM.PAUSED, VM.STOPPED], task: NO_TASK, mustHaveLaunched: true },
};

export interface StateView {
  id: string;
  vm_state: string;
  task_state: string | null;
  launched_at: string | null;
}

/** Throws Nova's 409 ("Cannot 'stop' instance <id> while it is in vm_state stopped") unless `action` is allowed now. */
export function checkState(s: StateView, action: string, printed = action): void {
  const rule = STATE_RULES[action];
  if (!rule) throw new Error(`no state rule for ${action}`);
  const fail = (attr: string, state: string | null) =>
    conflict(`Cannot '${printed}' instance ${s.id} while it is in ${attr} ${state === null ? 'None' : state}`);
  if (rule.vm && !rule.vm.includes(s.vm_state)) throw fail('vm_state', s.vm_state);
  if (rule.task && !rule.task.includes(s.task_state)) throw fail('task_state', s.task_state);
  if (rule.mustHaveLaunched && !s.launched_at) throw fail('launched_at', null);
}

/** Nova's check_instance_lock: a locked server refuses changes from anyone but an admin. */
export function checkLock(s: { id: string; locked: number }, isAdmin: boolean): void {
  if (s.locked && !isAdmin) throw conflict(`Instance ${s.id} is locked`);
}

/** The power state a vm state settles to once its task is done. */
export function powerOfVmState(vm: string): number {
  switch (vm) {
    case VM.ACTIVE:
      return POWER.RUNNING;
    case VM.PAUSED:
      return POWER.PAUSED;
    case VM.SUSPENDED:
      return POWER.SUSPENDED;
    case VM.STOPPED:
      return POWER.SHUTDOWN;
    default:
      return POWER.NOSTATE;
  }
}
