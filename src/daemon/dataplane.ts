import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { computeCoreOf, registerComputeHost } from '../core/compute/index.js';
import { listenMetadata } from '../api/metadata/routes.js';
import type { AccelChoice, ComputeDriver } from '../host/compute/driver.js';
import { SpawnExec } from '../host/exec.js';
import { QemuDriver } from '../host/compute/qemu/driver.js';
import { LinuxNetworkDriver } from '../host/network/linux/driver.js';
import type { NetworkDriver } from '../host/network/driver.js';
import type { Controller } from '../reconcile/controller.js';
import { ReconcileManager } from '../reconcile/manager.js';
import { changeFeedOf } from '../store/changes.js';
import type { CloudContext } from '../api/context.js';
import type { DataFiles } from './files.js';

/**
 * Counts the network host commands that change something (the runner
 * marks reads), so each reconcile pass can say how much it changed; keeps
 * the first few for the log.
 */
function hostChangeCounter(log: Logger): { exec: SpawnExec; take(): { count: number; sample: string[] } } {
  let count = 0;
  let sample: string[] = [];
  const exec = new SpawnExec((e) => {
    if (log.isLevelEnabled('trace')) log.trace({ argv: e.argv.join(' '), readOnly: e.readOnly, exitCode: e.exitCode, ms: Math.round(e.ms) }, 'host command');
    if (e.readOnly) return;
    count++;
    if (sample.length < 10) sample.push(`${e.netns ? `[${e.netns}] ` : ''}${e.argv.join(' ')}`);
  });
  return {
    exec,
    take: () => {
      const out = { count, sample };
      count = 0;
      sample = [];
      return out;
    },
  };
}

/** What the daemon builds the controllers from. */
export interface DataPlaneParts {
  ctx: CloudContext;
  network: NetworkDriver;
  compute: ComputeDriver;
  log: Logger;
  /** Wakes the controllers that watch (kind, id), as a change event would: for news the store does not publish (observed status). */
  notify(kind: string, id: string): void;
}

export type ControllerFactory = (parts: DataPlaneParts) => Controller[];

export interface DataPlane {
  manager: ReconcileManager;
  compute: ComputeDriver;
  network: NetworkDriver;
  accel: AccelChoice;
  close(): Promise<void>;
}

/**
 * The KVM probe's cached verdict, without probing: probing boots a guest
 * (seconds), so it never blocks start-up; until a verdict exists, TCG
 * (always correct, only slower).
 */
function cachedAccel(file: string): AccelChoice {
  try {
    if (existsSync(file)) {
      const c = JSON.parse(readFileSync(file, 'utf8')) as { accel?: string; reason?: string };
      if (c.accel === 'kvm' || c.accel === 'tcg') return { accel: c.accel, reason: c.reason ?? 'cached probe' };
    }
  } catch {
    // a damaged cache is the same as none
  }
  return { accel: 'tcg', reason: 'no KVM probe has run yet (TCG is always correct, only slower)' };
}

/**
 * Builds the host side: the network and compute drivers (inside the sandbox
 * namespace when there is one), the metadata API on a unix socket for the
 * proxies, and the reconcile manager fed by the store's change events. The
 * full pass runs before the API serves, as ARCHITECTURE asks.
 */
export async function startDataPlane(
  cfg: Config,
  ctx: CloudContext,
  files: DataFiles,
  factories: ControllerFactory[],
  step: (s: string) => void,
): Promise<DataPlane> {
  const log = ctx.log;
  const metadataSocket = join(files.run, 'metadata.sock');
  const core = computeCoreOf(ctx);
  const metadataApp: FastifyInstance = await listenMetadata(core, metadataSocket, log);

  const changes = hostChangeCounter(log);
  const network = new LinuxNetworkDriver({
    prefix: cfg.hostPrefix,
    sandbox: cfg.sandbox ?? null,
    stateDir: join(cfg.dataDir, 'network'),
    metadataUpstream: { socketPath: metadataSocket },
    exec: changes.exec,
    // The resync refreshes the driver, so drift of the nft tables is still found.
    markerCheckTtlMs: 1_000,
  });
  const accel = cachedAccel(files.kvmProbe);
  const compute = new QemuDriver({
    instancesDir: files.instances,
    prefix: cfg.hostPrefix,
    accel,
    guestNice: cfg.guestNice,
    ...(cfg.tcgTbSizeMiB > 0 ? { tbSizeMiB: cfg.tcgTbSizeMiB } : {}),
    ...(cfg.sandbox ? { netns: cfg.sandbox } : {}),
  });
  registerComputeHost(ctx, {
    console: { read: async (id, lines) => compute.consoleLog(id, lines === undefined ? {} : { lines }).catch(() => undefined) },
  });

  step(`data plane: host namespace ${cfg.sandbox ? `${cfg.sandbox} (sandbox)` : '(this machine)'}, guests under ${accel.accel.toUpperCase()}: ${accel.reason}`);
  changes.take();
  await network.ensureHost();
  // The manager is made from the controllers, which may notify it once it runs.
  let notifyManager: (kind: string, id: string) => void = () => undefined;
  const parts: DataPlaneParts = { ctx, network, compute, log, notify: (kind, id) => notifyManager(kind, id) };
  const manager = new ReconcileManager(
    factories.flatMap((f) => f(parts)),
    log,
    {
      resyncMs: cfg.resyncSeconds * 1000,
      beforeResync: async () => {
        changes.take();
        await network.refresh();
      },
      // One line per pass: an untouched host must show hostChanges 0 (no flap, no rule rewrite).
      onPass: (pass, ms) => {
        const c = changes.take();
        log.info({ pass, ms: Math.round(ms), hostChanges: c.count, ...(c.count > 0 ? { changedBy: c.sample } : {}) }, 'data plane pass done');
      },
    },
  );
  notifyManager = (kind, id) => manager.notify(kind, id);
  const unsubscribe = changeFeedOf(ctx.store.db).on((events) => {
    for (const e of events) manager.notify(e.kind, e.resourceId);
  });
  step('data plane: reconciling the host to the stored state');
  await manager.fullPass();
  manager.start();
  if (manager.warnings.size > 0) step(`data plane: ${manager.warnings.size} object(s) not converged yet (retrying; see stacklet status and the log)`);

  return {
    manager,
    compute,
    network,
    accel,
    close: async () => {
      unsubscribe();
      manager.stop();
      await network.close();
      await metadataApp.close();
    },
  };
}
