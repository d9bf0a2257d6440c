import { pino } from 'pino';
import type { AuthContext } from '../src/core/auth.js';
import type { Caller } from '../src/core/network/access.js';
import type { NetCore } from '../src/core/network/core.js';
import { createNetwork } from '../src/core/network/networks.js';
import { createPort } from '../src/core/network/ports.js';
import { DEFAULT_NETWORK_SETTINGS } from '../src/core/network/settings.js';
import { createSubnet } from '../src/core/network/subnets.js';
import { FakeNetworkDriver } from '../src/host/network/fake/driver.js';
import { ReconcileManager } from '../src/reconcile/manager.js';
import { networkControllers } from '../src/reconcile/network/index.js';
import { openStore } from '../src/store/db.js';
import { networkStoreOf } from '../src/store/network/store.js';

/**
 * The network controllers' own cost (store reads and spec building; the
 * host is the in-memory fake driver, so no ip/nft/dnsmasq time), run by hand
 * after a build:
 *
 *   node dist/bench/network-reconcile.js      (BENCH_PORTS=500 BENCH_SAMPLES=30)
 *
 * The host's share (ip, nft, dnsmasq) is bench/network-realize.ts: the
 * seed topology through a daemon in a sandbox, measured on the host.
 *
 * - the start-up full pass over one network with N bound ports in the default group
 * - a second full pass (nothing changes)
 * - one more bound port, from the create's commit to every controller idle: the
 *   port, the network's DHCP hosts and the default group's members are rebuilt,
 *   so this grows with the ports on the network and in the group
 */

const PORTS = Number(process.env['BENCH_PORTS'] ?? 500);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 30);

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

function caller(projectId: string, admin: boolean): Caller {
  const auth: AuthContext = {
    token: 't',
    userId: 'u',
    userName: 'u',
    userDomainId: 'default',
    userDomainName: 'Default',
    projectId,
    roles: [],
    methods: ['password'],
    auditIds: [],
    issuedAt: '',
    expiresAt: '',
    isAdmin: admin,
    isMember: true,
    isReader: true,
  };
  return { auth, projectId, isAdmin: admin };
}

async function main(): Promise<void> {
  const store = await openStore(':memory:');
  const core: NetCore = { store: networkStoreOf(store.db), settings: DEFAULT_NETWORK_SETTINGS };
  const admin = caller('admin-project', true);
  const demo = caller('demo', false);
  await core.store.write((r) => r.meta.setQuota(demo.projectId, 'port', -1));
  const net = await createNetwork(core, demo, { name: 'bench' });
  await createSubnet(core, demo, { network_id: net.row.id, ip_version: 4, cidr: '10.0.0.0/16' });
  const bound = (i: number) =>
    createPort(core, admin, { network_id: net.row.id, project_id: demo.projectId, device_owner: 'compute:nova', device_id: `vm-${i}`, 'binding:host_id': 'h' });
  for (let i = 0; i < PORTS; i++) await bound(i);

  const driver = new FakeNetworkDriver('sl');
  const log = pino({ level: 'silent' });
  const manager = new ReconcileManager(networkControllers({ db: store.db, driver, log }), log, { resyncMs: 0 });
  let t0 = performance.now();
  await manager.fullPass();
  const first = performance.now() - t0;
  const changed = driver.takeActions().length;
  t0 = performance.now();
  await manager.fullPass();
  const second = performance.now() - t0;

  // notify() maps events to keys asynchronously; count them in before waiting for idle.
  let pending = 0;
  const off = core.store.feed.on((events) => {
    for (const e of events) manager.notify(e.kind, e.resourceId);
    pending++;
  });
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    const p = await bound(PORTS + i);
    while (!driver.ports.has(p.row.id) || pending > 0) {
      pending = 0;
      await new Promise((r) => setImmediate(r));
      await manager.idle();
    }
    samples.push(performance.now() - start);
  }
  off();
  manager.stop();
  await store.close();
  console.log(`network reconcile, ${PORTS} bound ports on one network (fake driver: controller cost only)`);
  console.log(`  full pass at start-up: ${first.toFixed(0)} ms (${changed} changing driver calls)`);
  console.log(`  second full pass (no change): ${second.toFixed(0)} ms`);
  console.log(`  one more port, create to converged: p50 ${pct(samples, 50).toFixed(1)} ms  p90 ${pct(samples, 90).toFixed(1)} ms  (n=${samples.length})`);
}

await main();
