import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { createImage, simpleAction } from '../../core/compute/actions.js';
import { createServers, type ServerCreate } from '../../core/compute/create.js';
import { deleteServer } from '../../core/compute/servers.js';
import { flavorOf } from '../../core/compute/service.js';
import { statusOf } from '../../core/compute/states.js';
import { authOf, IMAGE_ID, makeKit, type Kit } from '../../core/compute/testkit.js';
import type { ImageFile, InstanceSpec } from '../../host/compute/driver.js';
import { FakeComputeDriver } from '../../host/compute/fake/driver.js';
import type { PortBinding } from '../../host/network/driver.js';
import { BINDING_WAIT_MS, ServerController } from './server.controller.js';
import type { BootImage } from './spec.js';

/**
 * The server controller over the fake compute driver and the real compute
 * core on an in-memory store: servers are created and acted on through the
 * core as the API does, and the controller must bring the host and the
 * model together.
 */

const demo = authOf('p1');
const KERNEL_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const RAMDISK_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff';
const AMI_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-000000000000';

let kit: Kit;
let driver: FakeComputeDriver;
let ctl: ServerController;
let bindings: Map<string, PortBinding | undefined>;
let bindingsReady: boolean;
let uploads: Map<string, ImageFile>;
let n = 0;

const files = new Map<string, BootImage>([
  [IMAGE_ID, { file: { path: '/images/tiny', format: 'qcow2' }, properties: {} }],
  [KERNEL_ID, { file: { path: '/images/vmlinuz', format: 'raw' }, properties: {} }],
  [RAMDISK_ID, { file: { path: '/images/initrd', format: 'raw' }, properties: {} }],
  [AMI_ID, { file: { path: '/images/ami', format: 'raw' }, properties: { kernel_id: KERNEL_ID, ramdisk_id: RAMDISK_ID, os_command_line: 'console=ttyS0 quiet' } }],
]);

function req(over: Partial<ServerCreate> = {}): ServerCreate {
  return { name: `vm${++n}`, imageRef: IMAGE_ID, flavorRef: '42', metadata: {}, networks: [{ uuid: kit.networkId }], configDrive: false, minCount: 1, maxCount: 1, tags: [], ...over };
}

async function row(id: string) {
  const s = await kit.core.instances.get(id);
  assert.ok(s, `server ${id} exists`);
  return s;
}

async function status(id: string): Promise<string> {
  const s = await row(id);
  return statusOf(s.vm_state, s.task_state, s.deleted === 1);
}

async function create(over: Partial<ServerCreate> = {}): Promise<string> {
  const { servers } = await createServers(kit.core, demo, req(over), 'req-1');
  const id = servers[0]?.id;
  assert.ok(id);
  return id;
}

async function active(over: Partial<ServerCreate> = {}): Promise<string> {
  const id = await create(over);
  assert.equal(await ctl.reconcile(id), undefined);
  assert.equal(await status(id), 'ACTIVE');
  return id;
}

function specs(id: string): InstanceSpec[] {
  return driver.calls.filter((c) => c.method === 'ensureRunning' && c.id === id).map((c) => c.arg as InstanceSpec);
}

describe('compute server controller', () => {
  before(async () => {
    kit = await makeKit(
      { quotas: { instances: 1000, cores: 1000, ram: 1 << 30, key_pairs: 100, metadata_items: 128, server_groups: 10, server_group_members: 10 } },
      { vcpus: 64, memoryMb: 65536 },
    );
    kit.images.set(AMI_ID, { ...structuredClone(kit.images.get(IMAGE_ID) ?? ({} as never)), id: AMI_ID, name: 'ami', diskFormat: 'ami', properties: { kernel_id: KERNEL_ID, ramdisk_id: RAMDISK_ID } });
  });
  after(async () => kit.close());
  beforeEach(() => {
    driver = new FakeComputeDriver();
    bindings = new Map();
    bindingsReady = true;
    uploads = new Map();
    ctl = new ServerController({
      core: kit.core,
      driver,
      log: pino({ level: 'silent' }),
      bindingFor: async (portId) => {
        if (!bindingsReady) return undefined;
        let b = bindings.get(portId);
        if (!b) {
          b = { tap: `tap${portId.slice(0, 11)}`, bridge: 'brq-test', mac: 'fa:16:3e:00:00:01', mtu: 1450, netns: null };
          bindings.set(portId, b);
        }
        return b;
      },
      images: {
        bootImage: async (id) => files.get(id),
        uploadSnapshot: async (snap, file) => {
          assert.equal(snap.properties['image_type'], 'snapshot');
          uploads.set(snap.imageId, file);
        },
      },
    });
  });

  test('create → ACTIVE/running with the spec built from flavor, image, ports and id', async () => {
    const id = await active();
    const s = await row(id);
    assert.equal(s.task_state, null);
    assert.equal(s.power_state, 1);
    assert.ok(s.launched_at);
    const [spec] = specs(id);
    assert.ok(spec);
    assert.equal(spec.id, id);
    const f = flavorOf(s);
    assert.equal(spec.memoryMiB, f.ram);
    assert.equal(spec.vcpus, f.vcpus);
    assert.equal(spec.rootDisk?.sizeGiB, f.disk > 0 ? f.disk : undefined);
    assert.deepEqual(spec.rootDisk?.image, { path: '/images/tiny', format: 'qcow2' });
    const ports = (await kit.core.instances.portsOf([id])).get(id) ?? [];
    assert.equal(spec.nics.length, 1);
    assert.equal(spec.nics[0]?.portId, ports[0]?.port_id);
    assert.equal(spec.nics[0]?.mtu, 1450);
    assert.equal(spec.configDrive, undefined);
    assert.equal(spec.kernel, undefined);
    const actions = await kit.core.instances.listActions(id);
    const create = actions.find((a) => a.action === 'create');
    assert.ok(create?.finish_time, 'the create action is finished');
    const events = await kit.core.instances.eventsOf(create.id);
    assert.deepEqual(events.map((e) => [e.event, e.result]).at(-1), ['compute__do_build_and_run_instance', 'Success']);
  });

  test('AMI-style images boot their kernel and ramdisk directly; config_drive gets its files', async () => {
    const id = await active({ imageRef: AMI_ID, configDrive: true });
    const [spec] = specs(id);
    assert.deepEqual(spec?.kernel, { kernel: '/images/vmlinuz', ramdisk: '/images/initrd', cmdline: 'console=ttyS0 quiet' });
    assert.ok(spec?.configDrive, 'config drive present');
    assert.ok(Object.keys(spec.configDrive).some((k) => k.startsWith('openstack/latest/meta_data.json')));
  });

  test('a port without a host binding yet: requeue, then build once it is there', async () => {
    bindingsReady = false;
    const id = await create();
    assert.deepEqual(await ctl.reconcile(id), { requeueAfterMs: BINDING_WAIT_MS });
    assert.equal(await status(id), 'BUILD');
    assert.equal(specs(id).length, 0);
    bindingsReady = true;
    await ctl.reconcile(id);
    assert.equal(await status(id), 'ACTIVE');
  });

  test('stop, start, reboot soft and hard, pause/unpause, suspend/resume', async () => {
    const id = await active();
    const step = async (action: Parameters<typeof simpleAction>[3], want: string, power: number) => {
      await simpleAction(kit.core, demo, id, action, 'r');
      await ctl.reconcile(id);
      assert.equal(await status(id), want, action);
      assert.equal((await row(id)).power_state, power, action);
    };
    await step('stop', 'SHUTOFF', 4);
    assert.equal((await driver.status(id))?.state, 'shutdown');
    await step('start', 'ACTIVE', 1);
    assert.equal((await driver.status(id))?.state, 'running');
    await step('reboot', 'ACTIVE', 1);
    await step('reboot_hard', 'ACTIVE', 1);
    assert.deepEqual(driver.calls.filter((c) => c.method === 'reboot').map((c) => c.arg), ['soft', 'hard']);
    await step('pause', 'PAUSED', 3);
    assert.equal((await driver.status(id))?.state, 'paused');
    await step('unpause', 'ACTIVE', 1);
    await step('suspend', 'SUSPENDED', 7);
    assert.equal((await driver.status(id))?.state, 'suspended');
    await step('resume', 'ACTIVE', 1);
    assert.equal((await driver.status(id))?.state, 'running');
  });

  test('a second pass changes nothing', async () => {
    const id = await active();
    const before = await row(id);
    driver.resetCalls();
    await ctl.reconcile(id);
    await ctl.reconcile(id);
    assert.deepEqual(await row(id), before);
    assert.deepEqual(driver.calls.map((c) => c.method), ['status', 'status']);
  });

  test('delete → the instance is destroyed and the server marked deleted', async () => {
    const id = await active();
    await deleteServer(kit.core, demo, id, 'r');
    await ctl.reconcile(id);
    assert.equal((await row(id)).deleted, 1);
    assert.equal(await driver.status(id), undefined);
    assert.ok(!(await ctl.listKeys()).includes(id));
  });

  test('a guest that died while ACTIVE becomes SHUTOFF; a running task is not overruled', async () => {
    const id = await active();
    driver.crash(id);
    await ctl.reconcile(id);
    assert.equal(await status(id), 'SHUTOFF');
    assert.equal((await row(id)).power_state, 4);
  });

  test('a driver failure → ERROR with a fault naming the task and what to do', async () => {
    const id = await create();
    driver.failNext('ensureRunning');
    await ctl.reconcile(id);
    const s = await row(id);
    assert.equal(await status(id), 'ERROR');
    assert.equal(s.fault_code, 500);
    assert.match(s.fault_message ?? '', new RegExp(`^Build of instance ${id} failed on the host: injected failure of ensureRunning`));
    assert.match(s.fault_details ?? '', /console log/);
    const actions = await kit.core.instances.listActions(id);
    const events = await kit.core.instances.eventsOf(actions[0]?.id ?? -1);
    assert.deepEqual(events.map((e) => [e.event, e.result]).at(-1), ['compute_error', 'Error']);
    assert.ok(actions[0]?.finish_time, 'the failed action is finished');
    // An ERROR server can still be deleted.
    await deleteServer(kit.core, demo, id, 'r');
    await ctl.reconcile(id);
    assert.equal((await row(id)).deleted, 1);
  });

  test('an image without data → ERROR with a 400 fault that says what to fix', async () => {
    const gone = 'aaaaaaaa-bbbb-4ccc-8ddd-111111111111';
    kit.images.set(gone, { ...structuredClone(kit.images.get(IMAGE_ID) ?? ({} as never)), id: gone });
    const id = await create({ imageRef: gone });
    await ctl.reconcile(id);
    const s = await row(id);
    assert.equal(await status(id), 'ERROR');
    assert.equal(s.fault_code, 400);
    assert.match(s.fault_message ?? '', /has no data/);
  });

  test('a failing delete is retried (throws), never ERROR', async () => {
    const id = await active();
    await deleteServer(kit.core, demo, id, 'r');
    driver.failNext('destroy');
    await assert.rejects(ctl.reconcile(id), /injected failure of destroy/);
    assert.equal((await row(id)).task_state, 'deleting');
    await ctl.reconcile(id);
    assert.equal((await row(id)).deleted, 1);
  });

  test('snapshot: the disk goes to a scratch file and into the reserved image; the server stays ACTIVE', async () => {
    const id = await active();
    const imageId = await createImage(kit.core, demo, id, 'snap', {}, 'r');
    assert.equal((await row(id)).task_state, 'image_snapshot_pending');
    await ctl.reconcile(id);
    assert.equal(await status(id), 'ACTIVE');
    const file = uploads.get(imageId);
    assert.ok(file, 'uploaded');
    assert.equal(driver.snapshots.get(file.path), id);
    const snap = await kit.core.instances.db.selectFrom('instance_snapshots').selectAll().where('image_id', '=', imageId).executeTakeFirst();
    assert.equal(snap?.status, 'done');
  });

  test('GC destroys instances no live server owns, and keeps the others', async () => {
    const id = await active();
    const stray = '99999999-8888-4777-8666-555555555555';
    await driver.ensureRunning({ id: stray, name: 'stray', memoryMiB: 64, vcpus: 1, nics: [], rootDisk: { image: { path: '/images/tiny', format: 'qcow2' } } });
    await ctl.collectGarbage();
    assert.equal(await driver.status(stray), undefined);
    assert.equal((await driver.status(id))?.state, 'running');
  });

  test('keysFor maps a server event to its id', () => {
    assert.deepEqual(ctl.keysFor('server', 'x'), ['x']);
    assert.deepEqual(ctl.keysFor('port', 'x'), []);
  });
});
