import type { AuthContext } from '../auth.js';
import { openStore, type OpenedStore } from '../../store/db.js';
import { networkStoreOf } from '../../store/network/store.js';
import type { NetCore } from '../network/core.js';
import { createNetwork } from '../network/networks.js';
import { DEFAULT_NETWORK_SETTINGS } from '../network/settings.js';
import { createSubnet } from '../network/subnets.js';
import type { HostFiguresData } from './host.js';
import { claim, complete, observePower, pendingServers, setSnapshotStatus, pendingSnapshots } from './lifecycle.js';
import type { ImageInfo } from './neighbours.js';
import { networkForCompute } from './network-adapter.js';
import { ComputeCore } from './service.js';
import { DEFAULT_COMPUTE_SETTINGS, type ComputeSettings } from './settings.js';
import { POWER, TASK } from './states.js';
import { flavorOf } from './service.js';

/**
 * Test wiring for the compute core (unit tests only): an in-memory store,
 * the real network core, images from a map, fixed host figures, and a
 * one-pass reconciler over a driver with the compute driver's contract
 * (the fake driver in tests). The real compute controller lives in
 * src/reconcile; this loop only moves servers through their tasks.
 */

export function authOf(projectId: string, opts: { admin?: boolean; reader?: boolean; userId?: string } = {}): AuthContext {
  const admin = opts.admin === true;
  return {
    token: 't',
    userId: opts.userId ?? `user-${projectId}`,
    userName: opts.userId ?? `user-${projectId}`,
    userDomainId: 'default',
    userDomainName: 'Default',
    projectId,
    projectName: projectId,
    roles: [{ id: admin ? 'admin' : 'member', name: admin ? 'admin' : opts.reader ? 'reader' : 'member' }],
    methods: ['password'],
    auditIds: [],
    issuedAt: '',
    expiresAt: '',
    isAdmin: admin,
    isMember: admin || opts.reader !== true,
    isReader: true,
  };
}

export const HOST: HostFiguresData = {
  hostname: 'testhost',
  vcpus: 2,
  memoryMb: 4096,
  memoryFreeMb: 3000,
  diskGb: 100,
  diskFreeGb: 80,
  hypervisorType: 'QEMU',
  hypervisorVersion: 8002002,
  cpuModel: 'Test CPU',
};

export interface Kit {
  store: OpenedStore;
  core: ComputeCore;
  net: NetCore;
  images: Map<string, ImageInfo>;
  networkId: string;
  subnetId: string;
  close(): Promise<void>;
}

export const IMAGE_ID = '11111111-2222-4333-8444-555555555555';

export async function makeKit(settings: Partial<ComputeSettings> = {}, host: Partial<HostFiguresData> = {}): Promise<Kit> {
  const store = await openStore(':memory:');
  const net: NetCore = { store: networkStoreOf(store.db), settings: DEFAULT_NETWORK_SETTINGS };
  const images = new Map<string, ImageInfo>();
  images.set(IMAGE_ID, {
    id: IMAGE_ID,
    name: 'tiny',
    status: 'active',
    minRam: 0,
    minDisk: 0,
    size: 20 * 2 ** 20,
    virtualSize: 512 * 2 ** 20,
    diskFormat: 'qcow2',
    containerFormat: 'bare',
    visibility: 'public',
    owner: null,
    properties: {},
  });
  const core = new ComputeCore({
    db: store.db,
    settings: { ...structuredClone(DEFAULT_COMPUTE_SETTINGS), ...settings },
    figures: { figures: async () => ({ ...HOST, ...host }) },
    network: networkForCompute(net),
    images: { getImage: async (_auth, id) => images.get(id) },
  });
  await core.flavors.seed();
  const caller = { auth: authOf('p1'), projectId: 'p1', isAdmin: false };
  const n = await createNetwork(net, caller, { name: 'private' });
  const s = await createSubnet(net, caller, { network_id: n.row.id, ip_version: 4, cidr: '10.0.0.0/24' });
  return { store, core, net, images, networkId: n.row.id, subnetId: s.row.id, close: () => store.close() };
}

/** The slice of the compute driver contract the loop uses (the fake driver and the QEMU driver both satisfy it). */
export interface DriverLike {
  ensureRunning(spec: {
    id: string;
    name: string;
    memoryMiB: number;
    vcpus: number;
    rootDisk?: { image: { path: string; format: 'raw' | 'qcow2' }; sizeGiB?: number };
    nics: { portId: string; tap: string; mac: string }[];
  }): Promise<unknown>;
  powerOff(id: string): Promise<void>;
  reboot(id: string, kind: 'soft' | 'hard'): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  suspend(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  status(id: string): Promise<{ state: string } | undefined>;
  snapshotDisk(id: string, dest: { path: string; format: 'raw' | 'qcow2' }): Promise<void>;
}

const POWER_OF: Record<string, number> = { running: POWER.RUNNING, paused: POWER.PAUSED, suspended: POWER.SUSPENDED, shutdown: POWER.SHUTDOWN, crashed: POWER.CRASHED };

/** One pass: every pending server's task is done on the driver and completed in the store. */
export async function reconcileOnce(core: ComputeCore, driver: DriverLike): Promise<void> {
  for (const id of await pendingServers(core)) {
    const s = await claim(core, id);
    if (!s) continue;
    const gen = s.generation;
    const f = flavorOf(s);
    const ports = (await core.instances.portsOf([id])).get(id) ?? [];
    const infos = core.network ? await core.network.portsById(ports.map((p) => p.port_id)) : new Map();
    const spec = {
      id,
      name: s.name,
      memoryMiB: f.ram,
      vcpus: f.vcpus,
      rootDisk: { image: { path: `/images/${s.image_id}`, format: 'qcow2' as const }, sizeGiB: f.disk },
      nics: ports.map((p) => ({ portId: p.port_id, tap: `tap${p.port_id.slice(0, 8)}`, mac: infos.get(p.port_id)?.macAddress ?? 'fa:16:3e:00:00:01' })),
    };
    switch (s.task_state) {
      case TASK.SPAWNING:
      case TASK.POWERING_ON:
      case TASK.RESUMING:
        await driver.ensureRunning(spec);
        break;
      case TASK.POWERING_OFF:
        await driver.powerOff(id);
        break;
      case TASK.REBOOTING:
        await driver.reboot(id, 'soft');
        break;
      case TASK.REBOOTING_HARD:
        await driver.ensureRunning(spec);
        await driver.reboot(id, 'hard');
        break;
      case TASK.PAUSING:
        await driver.pause(id);
        break;
      case TASK.UNPAUSING:
        await driver.unpause(id);
        break;
      case TASK.SUSPENDING:
        await driver.suspend(id);
        break;
      case TASK.REBUILDING:
        await driver.destroy(id);
        if (s.desired_power !== 'shutdown') await driver.ensureRunning(spec);
        break;
      case TASK.DELETING:
        await driver.destroy(id);
        break;
      case TASK.IMAGE_SNAPSHOT_PENDING:
        for (const snap of await pendingSnapshots(core)) {
          if (snap.instance_id !== id) continue;
          await driver.snapshotDisk(id, { path: `/images/${snap.image_id}`, format: 'qcow2' });
          await setSnapshotStatus(core, snap.image_id, 'done');
        }
        break;
      default:
        break;
    }
    const after = await complete(core, id, gen);
    if (after) {
      const st = await driver.status(id);
      await observePower(core, id, st ? (POWER_OF[st.state] ?? POWER.NOSTATE) : POWER.SHUTDOWN);
    }
  }
}
