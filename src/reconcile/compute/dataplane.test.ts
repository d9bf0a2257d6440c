import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { simpleAction } from '../../core/compute/actions.js';
import { createServers } from '../../core/compute/create.js';
import { deleteServer } from '../../core/compute/servers.js';
import { statusOf } from '../../core/compute/states.js';
import { authOf, IMAGE_ID, makeKit, type Kit } from '../../core/compute/testkit.js';
import type { InstanceSpec } from '../../host/compute/driver.js';
import { FakeComputeDriver } from '../../host/compute/fake/driver.js';
import { FakeNetworkDriver } from '../../host/network/fake/driver.js';
import { ReconcileManager } from '../manager.js';
import { networkControllers } from '../network/index.js';
import { bindingsFromNetwork } from './bindings.js';
import { computeControllers } from './index.js';

/**
 * The compute controller in the reconcile manager next to the network
 * controllers, fed by the store's change feed (as the daemon runs them):
 * a server waits for its port to be plugged, then runs on that tap.
 */

const demo = authOf('p1');

describe('compute controller in the reconcile manager', () => {
  let kit: Kit;
  let compute: FakeComputeDriver;
  let network: FakeNetworkDriver;
  let manager: ReconcileManager;
  let unsubscribe: () => void;

  before(async () => {
    kit = await makeKit({}, { vcpus: 64, memoryMb: 65536 });
    compute = new FakeComputeDriver();
    network = new FakeNetworkDriver();
    const log = pino({ level: 'silent' });
    const controllers = [
      ...networkControllers({ db: kit.store.db, driver: network, log }),
      ...computeControllers({
        core: kit.core,
        driver: compute,
        bindingFor: bindingsFromNetwork(kit.store.db, network),
        images: { bootImage: async (id) => (id === IMAGE_ID ? { file: { path: '/images/tiny', format: 'qcow2' }, properties: {} } : undefined), uploadSnapshot: async () => undefined },
        log,
      }),
    ];
    manager = new ReconcileManager(controllers, log, { resyncMs: 0 });
    unsubscribe = kit.core.feed.on((events) => {
      for (const e of events) manager.notify(e.kind, e.resourceId);
    });
    await manager.fullPass();
  });
  after(async () => {
    unsubscribe();
    manager.stop();
    await kit.close();
  });

  async function until(id: string, want: string): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const s = await kit.core.instances.get(id);
      const st = s ? statusOf(s.vm_state, s.task_state, s.deleted === 1) : 'GONE';
      if (st === want) return;
      if (Date.now() > deadline) assert.fail(`server ${id} is ${st}, expected ${want}; warnings: ${JSON.stringify([...manager.warnings])}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('create → ACTIVE on the tap the network side plugged; stop; delete', async () => {
    const { servers } = await createServers(kit.core, demo, { name: 'dp1', imageRef: IMAGE_ID, flavorRef: '42', metadata: {}, networks: [{ uuid: kit.networkId }], configDrive: false, minCount: 1, maxCount: 1, tags: [] }, 'r');
    const id = servers[0]?.id ?? '';
    await until(id, 'ACTIVE');
    const spec = compute.calls.find((c) => c.method === 'ensureRunning' && c.id === id)?.arg as InstanceSpec | undefined;
    const portId = spec?.nics[0]?.portId ?? '';
    assert.ok(network.ports.has(portId), 'the port was plugged by the network side');
    assert.match(spec?.nics[0]?.tap ?? '', /./);
    await simpleAction(kit.core, demo, id, 'stop', 'r');
    await until(id, 'SHUTOFF');
    assert.equal((await compute.status(id))?.state, 'shutdown');
    await deleteServer(kit.core, demo, id, 'r');
    await until(id, 'DELETED');
    assert.equal(await compute.status(id), undefined);
  });
});
