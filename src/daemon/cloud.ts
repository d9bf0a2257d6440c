import { writeFileSync, rmSync, chmodSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { publicBaseUrl, type Config } from '../config/config.js';
import { bootstrapIdentity, syncCatalog } from '../core/identity/bootstrap.js';
import { IdentityService } from '../core/identity/service.js';
import { TokenSigner } from '../core/identity/tokens.js';
import type { CloudContext, ServicePlugin } from '../api/context.js';
import { buildServer, VERSION } from '../api/server.js';
import { defaultDashboardDir } from '../api/dashboard/plugin.js';
import { explainPlugin } from '../api/explain/plugin.js';
import { identityPlugin } from '../api/identity/plugin.js';
import { imagePlugin } from '../api/image/plugin.js';
import { networkPlugin } from '../api/network/plugin.js';
import { computePlugin } from '../api/compute/plugin.js';
import { computeCoreOf, seedFlavors } from '../core/compute/index.js';
import { consoleTokenTarget } from '../core/compute/consoles.js';
import { consolePlugin } from '../api/console/plugin.js';
import { DEFAULT_TINY_CACHE, seedCloud } from './seed.js';
import { networkControllers } from '../reconcile/network/index.js';
import { computeControllersOf } from '../reconcile/compute/index.js';
import { startDataPlane, type ControllerFactory, type DataPlane } from './dataplane.js';
import { openStore } from '../store/db.js';
import { IdentityRepo } from '../store/identity/repo.js';
import { cloudsYaml } from './clouds.js';
import { dataFiles, type RunState } from './files.js';
import { loadOrCreateSecrets, loadOrCreateTokenKey } from './secrets.js';
import { checkDataDir, StartupError } from './datadir.js';

/** Every OpenStack service this process serves, in catalog order. */
export const PLUGINS: ServicePlugin[] = [identityPlugin, imagePlugin, networkPlugin, computePlugin];

/** The reconcilers, in dependency order (networks before the servers plugged into them). */
export const CONTROLLERS: ControllerFactory[] = [
  (p) =>
    networkControllers({
      db: p.ctx.store.db,
      driver: p.network,
      log: p.log,
      // network-vif-plugged: a server waiting for its port starts as soon as the port is plugged.
      onPortStatus: (port) => {
        if (port.deviceOwner.startsWith('compute:') && port.deviceId) p.notify('server', port.deviceId);
      },
    }),
  (p) => computeControllersOf(p),
];

export { StartupError, checkDataDir };

export interface RunningCloud {
  app: FastifyInstance;
  ctx: CloudContext;
  close(): Promise<void>;
}

export interface StartOptions {
  /** One line per start-up step, for the person watching. */
  progress?: (line: string) => void;
  /** Log destination; defaults to <data dir>/stacklet.log. */
  logger?: Logger;
}

/** Opens the store, bootstraps on first start, serves every API. The caller owns the pid file. */
export async function startCloud(cfg: Config, opts: StartOptions = {}): Promise<RunningCloud> {
  const say = opts.progress ?? (() => {});
  const files = dataFiles(cfg.dataDir);
  const t0 = performance.now();
  const step = (s: string) => say(`[${Math.round(performance.now() - t0).toString().padStart(4)} ms] ${s}`);

  step(`data dir ${cfg.dataDir}`);
  checkDataDir(cfg.dataDir);
  if (cfg.dataPlane && process.getuid?.() !== 0) {
    throw new StartupError(
      `the data plane needs root (it creates namespaces, bridges, nftables and VMs): run as root, or pass --no-data-plane to serve the APIs only`,
    );
  }

  const log =
    opts.logger ??
    pino(
      {
        level: cfg.logLevel,
        redact: { paths: ['req.headers["x-auth-token"]', 'req.headers["x-subject-token"]', '*.password', '*.secret'], censor: '[redacted]' },
      },
      pino.destination({ dest: files.log, mkdir: true, sync: false }),
    );

  step('opening the store and running migrations');
  const store = await openStore(files.store);
  const repo = new IdentityRepo(store.db);
  const secrets = loadOrCreateSecrets(files.secrets);
  const signer = new TokenSigner(loadOrCreateTokenKey(files.tokenKey));
  const identity = new IdentityService(repo, signer, cfg.tokenTtlSeconds * 1000);

  step('identity: bootstrap (first start only)');
  if (await bootstrapIdentity(repo, secrets, cfg.region, cfg.passwordHashCost)) {
    step('identity: created domain Default, roles admin/member/reader, projects and users admin and demo');
  }
  const baseUrl = publicBaseUrl(cfg);
  await syncCatalog(
    repo,
    cfg.region,
    PLUGINS.flatMap((p) => (p.catalogPath === undefined ? [] : [{ type: p.type, name: p.name, url: `${baseUrl}${p.catalogPath}` }])),
  );
  writeFileSync(files.cloudsYaml, cloudsYaml({ baseUrl, region: cfg.region, secrets }), { mode: 0o600 });
  chmodSync(files.cloudsYaml, 0o600);

  const ctx: CloudContext = { cfg, store, identity, log, baseUrl, startedAt: new Date() };
  if (process.env['STACKLET_SEED_FLAVORS'] !== '0') {
    const made = await seedFlavors(ctx);
    if (made > 0) step(`compute: created flavors m1.nano, m1.micro, m1.tiny, m1.small, m1.medium, m1.large (${made})`);
  }
  let dataPlane: DataPlane | undefined;
  if (cfg.dataPlane) {
    try {
      dataPlane = await startDataPlane(cfg, ctx, files, CONTROLLERS, step);
    } catch (err) {
      await store.close();
      throw new StartupError(`the data plane could not start: ${(err as Error).message}`);
    }
  } else {
    step('data plane: off (--no-data-plane): the APIs store desired state, nothing on this machine changes');
  }
  const plane = dataPlane;
  const consoles = consolePlugin({
    redeem: (token) => consoleTokenTarget(computeCoreOf(ctx), token),
    vncSocket: async (id) => (plane ? plane.compute.vncSocket(id).catch(() => undefined) : undefined),
  });

  step('starting the API server');
  // Stacklet's own routes (/stacklet/v1, /console) are served but stay out of the catalog.
  const app = await buildServer(ctx, [...PLUGINS, explainPlugin, consoles], {
    dashboardDir: defaultDashboardDir(),
    health: () => ({
      data_plane: plane
        ? {
            enabled: true,
            sandbox: cfg.sandbox ?? null,
            accelerator: plane.accel,
            not_converged: [...plane.manager.warnings.entries()].slice(0, 20).map(([key, message]) => ({ key, message })),
          }
        : { enabled: false },
    }),
  });
  try {
    await app.listen({ host: cfg.listenHost, port: cfg.listenPort });
  } catch (err) {
    await app.close();
    await dataPlane?.close();
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new StartupError(
        `port ${cfg.listenPort} on ${cfg.listenHost} is in use (another Stacklet? try \`stacklet status\`); pick another with --listen HOST:PORT`,
      );
    }
    if (code === 'EACCES') throw new StartupError(`not allowed to listen on ${cfg.listenHost}:${cfg.listenPort}; use a port above 1024 or run as root`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`${cfg.listenHost} is not an address of this machine; fix --listen`);
    throw err;
  }
  if (cfg.seed) {
    try {
      await seedCloud(ctx, app, secrets, { network: true, image: true, tinyCacheDir: DEFAULT_TINY_CACHE }, step);
    } catch (err) {
      // The cloud works without its seed; say what failed and how to get it.
      step(`seed: not finished (${(err as Error).message}); the next \`stacklet up\` tries again, or create the resources yourself`);
      log.warn({ err: (err as Error).message }, 'seed failed');
    }
  }
  const state: RunState = {
    pid: process.pid,
    version: VERSION,
    baseUrl,
    listen: `${cfg.listenHost}:${cfg.listenPort}`,
    sandbox: cfg.sandbox ?? null,
    startedAt: ctx.startedAt.toISOString(),
  };
  writeFileSync(files.state, JSON.stringify(state, null, 2) + '\n');
  step(`healthy: API at ${baseUrl}`);

  let closed = false;
  return {
    app,
    ctx,
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
      await dataPlane?.close();
      await store.close();
      rmSync(files.state, { force: true });
      log.flush?.();
    },
  };
}
