import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FakeComputeDriver } from '../../host/compute/fake/driver.js';
import { CloudError } from '../errors.js';
import { createPort } from '../network/ports.js';
import { confirmResize, createImage, lock, rebuild, resize, revertResize, simpleAction, unlock } from './actions.js';
import { consoleTokenTarget, createConsole } from './consoles.js';
import { createServers, type ServerCreate } from './create.js';
import { createGroup } from './groups.js';
import { fail, observePower } from './lifecycle.js';
import { configDriveFiles, ec2MetaData, guestView, metaDataJson, networkDataJson, serverForRequest } from './metadata.js';
import { deleteServer, writeMetadata } from './servers.js';
import { flavorOf } from './service.js';
import { POWER, statusOf } from './states.js';
import { authOf, IMAGE_ID, makeKit, reconcileOnce, type Kit } from './testkit.js';

/**
 * The compute core against the real network core on an in-memory store and
 * the fake compute driver: servers go through Nova's states as a reconciler
 * drives them, and every refusal is Nova's error with a useful message.
 */

const demo = authOf('p1');
const admin = authOf('admin', { admin: true });
let kit: Kit;
let driver: FakeComputeDriver;
let n = 0;

function req(over: Partial<ServerCreate> = {}): ServerCreate {
  return {
    name: `vm${++n}`,
    imageRef: IMAGE_ID,
    flavorRef: '42',
    metadata: {},
    networks: [{ uuid: kit.networkId }],
    configDrive: false,
    minCount: 1,
    maxCount: 1,
    tags: [],
    ...over,
  };
}

async function status(id: string): Promise<string> {
  const s = await kit.core.instances.get(id);
  assert.ok(s);
  return statusOf(s.vm_state, s.task_state, s.deleted === 1);
}

async function expectError(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CloudError, `expected a CloudError, got ${String(e)}`);
    assert.equal(e.status, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

async function activeServer(over: Partial<ServerCreate> = {}): Promise<string> {
  const { servers } = await createServers(kit.core, demo, req(over), 'req-1');
  const id = servers[0]?.id ?? '';
  await reconcileOnce(kit.core, driver);
  assert.equal(await status(id), 'ACTIVE');
  return id;
}

describe('compute core', () => {
  before(async () => {
    // Room for every test's servers; the capacity and quota tests make their own kit.
    kit = await makeKit(
      { quotas: { instances: 1000, cores: 1000, ram: 1 << 30, key_pairs: 100, metadata_items: 128, server_groups: 10, server_group_members: 10 } },
      { vcpus: 64, memoryMb: 65536 },
    );
  });
  after(async () => kit.close());
  beforeEach(() => {
    driver = new FakeComputeDriver();
  });

  test('create: BUILD/spawning with a bound compute port; the reconciler makes it ACTIVE', async () => {
    const { servers } = await createServers(kit.core, demo, req({ keyName: undefined }), 'req-create');
    const s = servers[0];
    assert.ok(s);
    assert.equal(s.vm_state, 'building');
    assert.equal(s.task_state, 'spawning');
    assert.equal(s.node, 'testhost');
    const ports = (await kit.core.instances.portsOf([s.id])).get(s.id) ?? [];
    assert.equal(ports.length, 1);
    const p = await kit.core.network?.getPort(ports[0]?.port_id ?? '');
    assert.equal(p?.deviceId, s.id);
    assert.equal(p?.deviceOwner, 'compute:nova');
    assert.equal(p?.hostId, 'testhost');
    assert.match(p?.fixedIps[0]?.ipAddress ?? '', /^10\.0\.0\.\d+$/);
    await reconcileOnce(kit.core, driver);
    const after = await kit.core.instances.get(s.id);
    assert.equal(await status(s.id), 'ACTIVE');
    assert.equal(after?.power_state, POWER.RUNNING);
    assert.ok(after?.launched_at);
    assert.equal(after?.applied_generation, after?.generation);
    const actions = await kit.core.instances.listActions(s.id);
    assert.equal(actions[0]?.action, 'create');
    assert.ok(actions[0]?.finish_time);
    const events = await kit.core.instances.eventsOf(actions[0]?.id ?? 0);
    assert.ok(events.some((e) => e.event === 'compute__do_build_and_run_instance' && e.result === 'Success'));
  });

  test('power actions follow the state machine, and the wrong state is Nova’s 409', async () => {
    const id = await activeServer();
    await simpleAction(kit.core, demo, id, 'stop', 'r');
    assert.equal(await status(id), 'ACTIVE');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'SHUTOFF');
    await expectError(simpleAction(kit.core, demo, id, 'stop', 'r'), 409, new RegExp(`^Cannot 'stop' instance ${id} while it is in vm_state stopped$`));
    await expectError(simpleAction(kit.core, demo, id, 'pause', 'r'), 409, /Cannot 'pause' instance .* vm_state stopped/);
    await simpleAction(kit.core, demo, id, 'start', 'r');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'ACTIVE');
    await simpleAction(kit.core, demo, id, 'reboot_hard', 'r');
    assert.equal(await status(id), 'HARD_REBOOT');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'ACTIVE');
    await simpleAction(kit.core, demo, id, 'reboot', 'r');
    assert.equal(await status(id), 'REBOOT');
    await expectError(simpleAction(kit.core, demo, id, 'reboot', 'r'), 409, /task_state rebooting/);
    await reconcileOnce(kit.core, driver);
    await simpleAction(kit.core, demo, id, 'pause', 'r');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'PAUSED');
    await simpleAction(kit.core, demo, id, 'unpause', 'r');
    await reconcileOnce(kit.core, driver);
    await simpleAction(kit.core, demo, id, 'suspend', 'r');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'SUSPENDED');
    assert.equal((await kit.core.instances.get(id))?.power_state, POWER.SUSPENDED);
    await simpleAction(kit.core, demo, id, 'resume', 'r');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'ACTIVE');
    const names = (await kit.core.instances.listActions(id)).map((a) => a.action);
    for (const a of ['stop', 'start', 'reboot', 'pause', 'unpause', 'suspend', 'resume']) assert.ok(names.includes(a), a);
  });

  test('a BUILD server refuses actions and metadata changes; an ACTIVE one takes metadata', async () => {
    const { servers } = await createServers(kit.core, demo, req(), 'r');
    const id = servers[0]?.id ?? '';
    await expectError(simpleAction(kit.core, demo, id, 'stop', 'r'), 409, /vm_state building/);
    await expectError(writeMetadata(kit.core, demo, id, { a: 'b' }, 'merge'), 409, /Cannot 'update metadata' .* vm_state building/);
    await reconcileOnce(kit.core, driver);
    assert.deepEqual(await writeMetadata(kit.core, demo, id, { a: 'b' }, 'merge'), { a: 'b' });
    assert.deepEqual(await writeMetadata(kit.core, demo, id, { c: 'd' }, 'merge'), { a: 'b', c: 'd' });
    assert.deepEqual(await writeMetadata(kit.core, demo, id, { e: 'f' }, 'replace'), { e: 'f' });
  });

  test('a locked server refuses a member (409) but not an admin; only an admin unlocks an admin lock', async () => {
    const id = await activeServer();
    await lock(kit.core, demo, id, 'maintenance', 'r');
    assert.equal((await kit.core.instances.get(id))?.locked_reason, 'maintenance');
    await expectError(simpleAction(kit.core, demo, id, 'stop', 'r'), 409, new RegExp(`Instance ${id} is locked`));
    await expectError(deleteServer(kit.core, demo, id, 'r'), 409, /is locked/);
    await simpleAction(kit.core, admin, id, 'stop', 'r');
    await reconcileOnce(kit.core, driver);
    await unlock(kit.core, demo, id, 'r');
    await lock(kit.core, admin, id, undefined, 'r');
    await expectError(unlock(kit.core, demo, id, 'r'), 403, /locked by an admin/);
    await unlock(kit.core, admin, id, 'r');
  });

  test('delete: a claimed server goes through deleting; the ports it made go, a port the user brought stays unbound', async () => {
    const caller = { auth: demo, projectId: 'p1', isAdmin: false };
    const own = await createPort(kit.net, caller, { network_id: kit.networkId, name: 'mine' });
    const id = await activeServer({ networks: [{ uuid: kit.networkId }, { port: own.row.id }] });
    const ports = (await kit.core.instances.portsOf([id])).get(id) ?? [];
    assert.equal(ports.length, 2);
    const made = ports.find((p) => p.owned === 1)?.port_id ?? '';
    await deleteServer(kit.core, demo, id, 'r');
    const mid = await kit.core.instances.get(id);
    assert.equal(mid?.task_state, 'deleting');
    assert.equal(mid?.deleted, 0);
    await reconcileOnce(kit.core, driver);
    assert.equal((await kit.core.instances.get(id))?.deleted, 1);
    assert.equal(await kit.core.network?.getPort(made), undefined);
    const kept = await kit.core.network?.getPort(own.row.id);
    assert.equal(kept?.deviceId, '');
    assert.equal(kept?.hostId, '');
    await expectError(kit.core.visibleServer(demo, id), 404, /could not be found/);
  });

  test('a pre-made port already in use is a 409; another project’s is a 400', async () => {
    const caller = { auth: demo, projectId: 'p1', isAdmin: false };
    const own = await createPort(kit.net, caller, { network_id: kit.networkId });
    await activeServer({ networks: [{ port: own.row.id }] });
    await expectError(createServers(kit.core, demo, req({ networks: [{ port: own.row.id }] }), 'r'), 409, /still in use/);
    await expectError(createServers(kit.core, authOf('p2'), req({ networks: [{ port: own.row.id }] }), 'r'), 400, /Port id .* could not be found/);
  });

  test('the scheduler refuses past the allocation ratio with the reason, and frees capacity on delete', async () => {
    // Host: 4096 MB - 512 reserved, × 1.5 = 5376 MB; m1.medium takes 4096.
    const k = await makeKit();
    try {
      const first = await createServers(k.core, demo, req({ flavorRef: '3', networks: 'none' }), 'r');
      assert.equal(first.servers[0]?.vm_state, 'building');
      const second = await createServers(k.core, demo, req({ flavorRef: '3', networks: [{ uuid: k.networkId }] }), 'r');
      const s = second.servers[0];
      assert.equal(s?.vm_state, 'error');
      assert.equal(s?.fault_code, 500);
      assert.equal(s?.fault_message, 'No valid host was found. There are not enough hosts available.');
      assert.match(s?.fault_details ?? '', /needs 4096 MB RAM, 1280 MB free/);
      // Nothing half-made: an unscheduled server has no ports.
      assert.equal(((await k.core.instances.portsOf([s?.id ?? ''])).get(s?.id ?? '') ?? []).length, 0);
      await deleteServer(k.core, demo, s?.id ?? '', 'r');
      await deleteServer(k.core, demo, first.servers[0]?.id ?? '', 'r');
      const third = await createServers(k.core, demo, req({ flavorRef: '3', networks: 'none' }), 'r');
      assert.equal(third.servers[0]?.vm_state, 'building');
      const big = await createServers(k.core, demo, req({ flavorRef: '1', minCount: 4, maxCount: 4, networks: 'none' }), 'r');
      assert.ok(big.servers.every((x) => x.vm_state === 'error'));
      assert.match(big.servers[0]?.fault_details ?? '', /4 servers need 2048 MB RAM, 1280 MB free/);
    } finally {
      await k.close();
    }
  });

  test('anti-affinity on the only host: the second member fails clearly; soft-anti-affinity places it', async () => {
    const g = await createGroup(kit.core, demo, 'spread', 'anti-affinity', {});
    const a = await createServers(kit.core, demo, req({ groupId: g.id }), 'r');
    assert.equal(a.servers[0]?.vm_state, 'building');
    const b = await createServers(kit.core, demo, req({ groupId: g.id }), 'r');
    assert.equal(b.servers[0]?.vm_state, 'error');
    assert.match(b.servers[0]?.fault_details ?? '', /anti-affinity policy and already has 1 member\(s\) on testhost, the only host/);
    const soft = await createGroup(kit.core, demo, 'soft', 'soft-anti-affinity', {});
    await createServers(kit.core, demo, req({ groupId: soft.id }), 'r');
    const c = await createServers(kit.core, demo, req({ groupId: soft.id }), 'r');
    assert.equal(c.servers[0]?.vm_state, 'building');
  });

  test('quota: 403 naming the quota, and max_count shrinks to what fits', async () => {
    const k = await makeKit({ quotas: { instances: 2, cores: 20, ram: 51200, key_pairs: 100, metadata_items: 2, server_groups: 10, server_group_members: 10 } });
    try {
      const r = await createServers(k.core, demo, req({ minCount: 1, maxCount: 5, networks: 'none' }), 'r');
      assert.equal(r.servers.length, 2);
      assert.deepEqual(
        r.servers.map((s) => s.name),
        [`vm${n}-1`, `vm${n}-2`],
      );
      assert.equal(new Set(r.servers.map((s) => s.reservation_id)).size, 1);
      await expectError(createServers(k.core, demo, req({ networks: 'none' }), 'r'), 403, /^Quota exceeded for instances: Requested 1, but already used 2 of 2 instances$/);
      await expectError(createServers(k.core, authOf('p3'), req({ networks: 'none', metadata: { a: '1', b: '2', c: '3' } }), 'r'), 403, /metadata_items/);
    } finally {
      await k.close();
    }
  });

  test('bad input is a 400 naming what is wrong, and leaves nothing behind', async () => {
    const before = (await kit.core.instances.list({})).length;
    await expectError(createServers(kit.core, demo, req({ flavorRef: '999' }), 'r'), 400, /Flavor 999 could not be found/);
    await expectError(createServers(kit.core, demo, req({ imageRef: '00000000-0000-4000-8000-000000000000' }), 'r'), 400, /Image 00000000-0000-4000-8000-000000000000 could not be found/);
    await expectError(createServers(kit.core, demo, req({ networks: [{ uuid: '00000000-0000-4000-8000-000000000001' }] }), 'r'), 400, /Network 00000000-0000-4000-8000-000000000001 could not be found/);
    await expectError(createServers(kit.core, demo, req({ keyName: 'nokey' }), 'r'), 400, /Invalid key_name provided.*nokey/);
    await expectError(createServers(kit.core, demo, req({ userData: Buffer.alloc(64 * 1024 + 1).toString('base64') }), 'r'), 400, /User data too large/);
    await expectError(createServers(kit.core, demo, req({ userData: '!!notbase64' }), 'r'), 400, /valid base 64/);
    await expectError(createServers(kit.core, demo, req({ securityGroups: ['nosuch'] }), 'r'), 400, /Security group nosuch not found/);
    kit.images.set('22222222-2222-4333-8444-555555555555', { ...(kit.images.get(IMAGE_ID) as NonNullable<ReturnType<typeof kit.images.get>>), id: '22222222-2222-4333-8444-555555555555', name: 'big', virtualSize: 5 * 2 ** 30 });
    await expectError(createServers(kit.core, demo, req({ imageRef: '22222222-2222-4333-8444-555555555555' }), 'r'), 400, /Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, image is 5368709120 bytes/);
    await expectError(createServers(kit.core, demo, req({ availabilityZone: 'elsewhere' }), 'r'), 400, /availability zone is not available/);
    await expectError(createServers(kit.core, demo, req({ blockDevices: [{ sourceType: 'volume', destinationType: 'volume', uuid: 'x' }] }), 'r'), 400, /block_device_mapping_v2 supports only/);
    assert.equal((await kit.core.instances.list({})).length, before);
    const ports = await kit.core.network?.portsById([]);
    assert.equal(ports?.size, 0);
  });

  test('networks auto picks the project’s network; none makes no port; ambiguity is a 409', async () => {
    const a = await createServers(kit.core, demo, req({ networks: 'auto' }), 'r');
    assert.equal(((await kit.core.instances.portsOf([a.servers[0]?.id ?? ''])).get(a.servers[0]?.id ?? '') ?? []).length, 1);
    const none = await createServers(kit.core, demo, req({ networks: 'none' }), 'r');
    assert.equal((await kit.core.instances.portsOf([none.servers[0]?.id ?? ''])).size, 0);
    await expectError(createServers(kit.core, authOf('lonely'), req({ networks: 'auto' }), 'r'), 400, /Unable to automatically allocate a network/);
  });

  test('a server that failed on the host goes to ERROR with the fault, and can still be deleted', async () => {
    await reconcileOnce(kit.core, driver);
    const { servers } = await createServers(kit.core, demo, req(), 'r');
    const id = servers[0]?.id ?? '';
    driver.failNext('ensureRunning');
    await assert.rejects(reconcileOnce(kit.core, driver));
    await fail(kit.core, id, { code: 500, message: 'Build of instance failed: the host could not start it.', details: 'injected failure of ensureRunning' });
    assert.equal(await status(id), 'ERROR');
    const s = await kit.core.instances.get(id);
    assert.equal(s?.fault_message, 'Build of instance failed: the host could not start it.');
    assert.ok(s?.claimed_at, 'claimed before the host was touched');
    await deleteServer(kit.core, demo, id, 'r');
    assert.equal((await kit.core.instances.get(id))?.task_state, 'deleting');
    await reconcileOnce(kit.core, driver);
    assert.equal((await kit.core.instances.get(id))?.deleted, 1);
  });

  test('a guest found off while it should run becomes SHUTOFF, never silently ACTIVE', async () => {
    const id = await activeServer();
    driver.crash(id);
    await observePower(kit.core, id, POWER.SHUTDOWN);
    assert.equal(await status(id), 'SHUTOFF');
    assert.equal((await kit.core.instances.get(id))?.desired_power, 'shutdown');
  });

  test('createImage records the snapshot; the reconciler finishes it', async () => {
    const id = await activeServer();
    const imageId = await createImage(kit.core, demo, id, 'snap', { purpose: 'test' }, 'r');
    assert.equal((await kit.core.instances.get(id))?.task_state, 'image_snapshot_pending');
    await expectError(createImage(kit.core, demo, id, 'again', {}, 'r'), 409, /task_state image_snapshot_pending/);
    await reconcileOnce(kit.core, driver);
    assert.equal((await kit.core.instances.get(id))?.task_state, null);
    const snaps = await kit.core.instances.snapshotsOf(id);
    assert.equal(snaps[0]?.image_id, imageId);
    assert.equal(snaps[0]?.status, 'done');
    assert.equal((JSON.parse(snaps[0]?.properties ?? '{}') as Record<string, string>)['image_type'], 'snapshot');
  });

  test('rebuild and resize with confirm and revert', async () => {
    const id = await activeServer();
    await rebuild(kit.core, demo, id, { imageRef: IMAGE_ID, name: 'rebuilt' }, 'r');
    assert.equal(await status(id), 'REBUILD');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'ACTIVE');
    assert.equal((await kit.core.instances.get(id))?.name, 'rebuilt');
    await expectError(resize(kit.core, demo, id, '42', 'r'), 400, /must change flavor/);
    await resize(kit.core, demo, id, '84', 'r');
    assert.equal(await status(id), 'RESIZE');
    await reconcileOnce(kit.core, driver);
    assert.equal(await status(id), 'VERIFY_RESIZE');
    const resized = await kit.core.instances.get(id);
    assert.ok(resized);
    assert.equal(flavorOf(resized).name, 'm1.micro');
    await revertResize(kit.core, demo, id, 'r');
    await reconcileOnce(kit.core, driver);
    const reverted = await kit.core.instances.get(id);
    assert.ok(reverted);
    assert.equal(flavorOf(reverted).name, 'm1.nano');
    assert.equal(await status(id), 'ACTIVE');
    await resize(kit.core, demo, id, '84', 'r');
    await reconcileOnce(kit.core, driver);
    await confirmResize(kit.core, demo, id, 'r');
    assert.equal(await status(id), 'ACTIVE');
    const confirmed = await kit.core.instances.get(id);
    assert.ok(confirmed);
    assert.equal(flavorOf(confirmed).name, 'm1.micro');
    assert.equal(confirmed.old_flavor, null);
  });

  test('metadata for the guest: the port’s owner only, OpenStack and EC2 layouts, config drive files', async () => {
    await kit.core.keypairs.create(demo, { name: 'k-meta' });
    const ud = Buffer.from('#!/bin/sh\necho hi\n').toString('base64');
    const id = await activeServer({ name: 'web 1', keyName: 'k-meta', userData: ud, metadata: { role: 'web' } });
    const s = await kit.core.instances.get(id);
    assert.ok(s);
    const ip = (await guestView(kit.core, s)).details.addresses[0]?.addr ?? '';
    const found = await serverForRequest(kit.core, { networkId: kit.networkId }, ip);
    assert.equal(found?.id, id);
    assert.equal(await serverForRequest(kit.core, { networkId: kit.networkId }, '10.0.0.250'), undefined);
    const g = await guestView(kit.core, s);
    const md = metaDataJson(g);
    assert.equal(md['uuid'], id);
    assert.equal(md['hostname'], 'web-1');
    assert.equal(md['project_id'], 'p1');
    assert.deepEqual(md['meta'], { role: 'web' });
    assert.match(String((md['public_keys'] as Record<string, string>)['k-meta']), /^ssh-ed25519 /);
    const nd = networkDataJson(g) as { links: { ethernet_mac_address: string }[]; networks: { type: string }[] };
    assert.equal(nd.links.length, 1);
    assert.equal(nd.networks[0]?.type, 'ipv4_dhcp');
    const ec2 = ec2MetaData(g);
    assert.equal(ec2['local-ipv4'], ip);
    assert.equal(ec2['hostname'], 'web-1');
    const files = configDriveFiles(g);
    assert.ok(files['openstack/latest/meta_data.json']);
    assert.equal(Buffer.from(files['openstack/latest/user_data'] ?? new Uint8Array()).toString(), '#!/bin/sh\necho hi\n');
    assert.ok(files['ec2/latest/meta-data.json']);
  });

  test('console URLs carry a short-lived token bound to the instance; only its hash is stored', async () => {
    const id = await activeServer();
    const c = await createConsole(kit.core, demo, id, 'vnc', 'novnc', 'http://h:1');
    const token = decodeURIComponent(new URL(c.url).searchParams.get('path') ?? '').split('token=')[1] ?? '';
    assert.ok(token.length > 20);
    assert.equal(await consoleTokenTarget(kit.core, token), id);
    const rows = await kit.core.instances.db.selectFrom('console_tokens').selectAll().execute();
    assert.ok(rows.every((r) => r.token_hash !== token));
    assert.equal(await consoleTokenTarget(kit.core, `${token}x`), undefined);
    await expectError(createConsole(kit.core, demo, id, 'spice', 'spice-html5', 'http://h:1'), 400, /Unavailable console type/);
    const { servers } = await createServers(kit.core, demo, req(), 'r');
    await expectError(createConsole(kit.core, demo, servers[0]?.id ?? '', 'vnc', 'novnc', 'http://h:1'), 409, /is not ready/);
  });
});
