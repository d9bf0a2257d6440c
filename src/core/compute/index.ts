import { cpus, hostname, loadavg, totalmem, freemem, uptime } from 'node:os';
import { statfs, mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { dataFiles } from '../../daemon/files.js';
import type { Db } from '../../store/db.js';
import type { AuthContext } from '../auth.js';
import { CloudError } from '../errors.js';
import { qemuVersion } from '../../host/compute/qemu/probe.js';
import { imageService, registerImageUsage, type ImageHostContext } from '../image/index.js';
import { versionNumber, type ConsoleReader, type HostFigures, type HostFiguresData } from './host.js';
import { networkSettingsFromEnv } from '../network/settings.js';
import { networkStoreOf } from '../../store/network/store.js';
import type { ImageInfo, ImagesForCompute, NetworkForCompute } from './neighbours.js';
import { networkForCompute } from './network-adapter.js';
import { ComputeCore } from './service.js';
import { computeSettingsFromEnv, type ComputeSettings } from './settings.js';

/**
 * The compute core's public face for the rest of Stacklet: one core per
 * store, built on first use from what every CloudContext has, with the
 * image service wired in and the host and network wired by whoever owns
 * them (registerComputeHost, registerComputeNetwork).
 */

export { ComputeCore } from './service.js';
export type { ComputeSettings } from './settings.js';

export interface ComputeHostContext extends ImageHostContext {
  store: { db: Db };
  cfg: { dataDir: string };
  log?: Logger;
}

const cores = new WeakMap<object, ComputeCore>();

/** Images as compute sees them, through the image service. */
export function imagesFrom(ctx: ImageHostContext): ImagesForCompute {
  return {
    async getImage(auth: AuthContext, id: string): Promise<ImageInfo | undefined> {
      try {
        const { image } = await imageService(ctx).fetch(auth, id);
        return {
          id: image.id,
          name: image.name ?? image.id,
          status: image.status,
          minRam: image.min_ram,
          minDisk: image.min_disk,
          size: image.size,
          virtualSize: image.virtual_size,
          diskFormat: image.disk_format,
          containerFormat: image.container_format,
          visibility: image.visibility,
          owner: image.owner,
          properties: image.properties,
        };
      } catch (err) {
        if (err instanceof CloudError && err.status === 404) return undefined;
        throw err;
      }
    },
    /**
     * The snapshot's image record, queued and empty, as Nova creates it in
     * Glance before the compute host uploads: the id answers at once, and
     * the reconciler uploads the disk into it (ImageService.upload).
     */
    async reserveSnapshot(auth, req) {
      await imageService(ctx).create(auth, {
        id: req.id,
        name: req.name,
        disk_format: 'qcow2',
        container_format: 'bare',
        visibility: 'private',
        min_ram: req.minRam,
        min_disk: req.minDisk,
        ...(auth.isAdmin && req.ownerProjectId !== auth.projectId ? { owner: req.ownerProjectId } : {}),
        ...req.properties,
      });
    },
    async releaseSnapshot(auth, id) {
      await imageService(ctx).delete(auth, id);
    },
  };
}

/**
 * Host figures read from this machine until the compute driver registers
 * its own (with the QEMU version and the accelerator): vCPUs, RAM and the
 * instances' filesystem are the same numbers the driver measures.
 */
export function machineFigures(instancesDir: string, ttlMs = 5000): HostFigures {
  let version: Promise<number> | undefined;
  let cached: { at: number; data: HostFiguresData } | undefined;
  return {
    async figures(): Promise<HostFiguresData> {
      // The scheduler asks on every create; the figures move slowly.
      if (cached && Date.now() - cached.at < ttlMs) return cached.data;
      cached = { at: Date.now(), data: await measure() };
      return cached.data;
    },
  };
  async function measure(): Promise<HostFiguresData> {
    version ??= qemuVersion().then(versionNumber, () => 0);
    await mkdir(instancesDir, { recursive: true });
    const fs = await statfs(instancesDir);
    const gib = 1024 ** 3;
    const list = cpus();
    const load = loadavg();
    return {
      hostname: hostname(),
      vcpus: list.length,
      memoryMb: Math.floor(totalmem() / 2 ** 20),
      memoryFreeMb: Math.floor(freemem() / 2 ** 20),
      diskGb: Math.floor((fs.blocks * fs.bsize) / gib),
      diskFreeGb: Math.floor((fs.bavail * fs.bsize) / gib),
      hypervisorType: 'QEMU',
      hypervisorVersion: await version,
      cpuModel: list[0]?.model.trim() ?? 'unknown',
      uptimeSeconds: Math.floor(uptime()),
      loadAverage: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
    };
  }
}

/** The compute core of this cloud (created on first call). */
export function computeCoreOf(ctx: ComputeHostContext, settings: ComputeSettings = computeSettingsFromEnv()): ComputeCore {
  let c = cores.get(ctx.store);
  if (!c) {
    c = new ComputeCore({
      db: ctx.store.db,
      settings,
      figures: machineFigures(dataFiles(ctx.cfg.dataDir).instances),
      images: imagesFrom(ctx),
      network: networkForCompute({ store: networkStoreOf(ctx.store.db), settings: networkSettingsFromEnv() }),
    });
    const core = c;
    // Images that servers boot from hold their disks' backing files: Glance must not delete them under a server.
    registerImageUsage(ctx, {
      usersOf: async (imageId) => {
        const rows = await core.instances.db.selectFrom('instances').select(['id', 'name']).where('image_id', '=', imageId).where('deleted', '=', 0).execute();
        return rows.map((r) => `server ${r.name} (${r.id})`);
      },
    });
    cores.set(ctx.store, c);
  }
  return c;
}

/** The compute driver's figures and console log, once the host side is up. */
export function registerComputeHost(ctx: ComputeHostContext, host: { figures?: HostFigures; console?: ConsoleReader }): void {
  const c = computeCoreOf(ctx);
  if (host.figures) c.figures = host.figures;
  if (host.console) c.console = host.console;
}

/** The network core's adapter. */
export function registerComputeNetwork(ctx: ComputeHostContext, network: NetworkForCompute): void {
  computeCoreOf(ctx).network = network;
}

/**
 * First start's flavors (m1.nano ... m1.large). Idempotent: does nothing
 * once any flavor exists, so a user who deleted them is not overruled.
 * Returns the number created.
 */
export function seedFlavors(ctx: ComputeHostContext): Promise<number> {
  return computeCoreOf(ctx).flavors.seed();
}
