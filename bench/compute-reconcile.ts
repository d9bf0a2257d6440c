import { pino } from 'pino';
import { createServers } from '../src/core/compute/create.js';
import { authOf, IMAGE_ID, makeKit } from '../src/core/compute/testkit.js';
import { FakeComputeDriver } from '../src/host/compute/fake/driver.js';
import { ReconcileManager } from '../src/reconcile/manager.js';
import { ServerController } from '../src/reconcile/compute/server.controller.js';

/**
 * The server controller's own cost (store reads, spec building, the task's
 * store writes; the host is the in-memory fake driver, so no QEMU time),
 * run by hand after a build:
 *
 *   node dist/bench/compute-reconcile.js      (BENCH_SERVERS=200 BENCH_SAMPLES=30; the kit's /24 caps servers + samples at ~250)
 *
 * - N servers created through the compute core, then the start-up full pass that makes them ACTIVE
 * - a second full pass (nothing changes: power sync only)
 * - one more server, from the create's commit to ACTIVE through the change feed
 */

const SERVERS = Number(process.env['BENCH_SERVERS'] ?? 200);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 30);

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function main(): Promise<void> {
  const kit = await makeKit(
    { quotas: { instances: 100000, cores: 100000, ram: 1 << 30, key_pairs: 100, metadata_items: 128, server_groups: 10, server_group_members: 10 } },
    { vcpus: 100000, memoryMb: 1 << 30, memoryFreeMb: 1 << 30, diskGb: 1 << 20, diskFreeGb: 1 << 20 },
  );
  const demo = authOf('p1');
  const driver = new FakeComputeDriver();
  const log = pino({ level: 'silent' });
  const ctl = new ServerController({
    core: kit.core,
    driver,
    log,
    bindingFor: async (portId) => ({ tap: `tap${portId.slice(0, 11)}`, bridge: 'brq', mac: 'fa:16:3e:00:00:01', mtu: 1450, netns: null }),
    images: { bootImage: async () => ({ file: { path: '/images/tiny', format: 'qcow2' }, properties: {} }), uploadSnapshot: async () => undefined },
  });
  const manager = new ReconcileManager([ctl], log, { resyncMs: 0 });
  const req = (name: string) => ({ name, imageRef: IMAGE_ID, flavorRef: '42', metadata: {}, networks: [{ uuid: kit.networkId }], configDrive: false, minCount: 1, maxCount: 1, tags: [] });

  for (let i = 0; i < SERVERS; i++) await createServers(kit.core, demo, req(`b${i}`), 'r');
  let t0 = process.hrtime.bigint();
  await manager.fullPass();
  const first = ms(t0);
  t0 = process.hrtime.bigint();
  await manager.fullPass();
  const second = ms(t0);

  const unsubscribe = kit.core.feed.on((events) => {
    for (const e of events) manager.notify(e.kind, e.resourceId);
  });
  const lat: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = process.hrtime.bigint();
    const { servers } = await createServers(kit.core, demo, req(`s${i}`), 'r');
    const id = servers[0]?.id ?? '';
    for (;;) {
      await manager.idle();
      const vm = (await kit.core.instances.get(id))?.vm_state;
      if (vm === 'active') break;
      if (vm !== 'building') throw new Error(`server ${id} went to ${String(vm)}, not ACTIVE`);
      await new Promise((r) => setImmediate(r));
    }
    lat.push(ms(t));
  }
  unsubscribe();
  manager.stop();
  await kit.close();
  console.log(`servers: ${SERVERS}`);
  console.log(`start-up full pass (BUILD → ACTIVE): ${first.toFixed(0)} ms (${(first / SERVERS).toFixed(2)} ms/server)`);
  console.log(`second full pass (no change):       ${second.toFixed(0)} ms (${(second / SERVERS).toFixed(2)} ms/server)`);
  console.log(`create → ACTIVE via change feed (incl. the create itself), ${SAMPLES} samples: p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms`);
}

await main();
