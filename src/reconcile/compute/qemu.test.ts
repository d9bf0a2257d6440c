import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createImage, simpleAction } from '../../core/compute/actions.js';
import { createServers } from '../../core/compute/create.js';
import { deleteServer } from '../../core/compute/servers.js';
import { statusOf } from '../../core/compute/states.js';
import { authOf, IMAGE_ID, makeKit, type Kit } from '../../core/compute/testkit.js';
import { createImageFromFile, imageService } from '../../core/image/index.js';
import { QemuDriver } from '../../host/compute/qemu/driver.js';
import { computeImagesFrom } from './images.js';
import { ServerController } from './server.controller.js';

/**
 * The server controller over the real QEMU driver (TCG, no NICs) and the
 * real image service: QEMU processes start, pause, save and restore, stop,
 * die, and a snapshot becomes an active image. The guest disk is blank:
 * what is checked is QEMU's state, not a booted guest.
 */

const run = promisify(execFile);
const demo = authOf('p1');

describe('compute server controller over QEMU', () => {
  let kit: Kit;
  let dir: string;
  let driver: QemuDriver;
  let ctl: ServerController;
  let imageId: string;
  const ctx = () => ({ store: kit.store, cfg: { dataDir: dir } });

  before(async () => {
    kit = await makeKit({}, { vcpus: 64, memoryMb: 65536 });
    dir = await mkdtemp(join(tmpdir(), 'stacklet-cq-'));
    const disk = join(dir, 'blank.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '32M']);
    imageId = await createImageFromFile(ctx(), { name: 'blank', diskFormat: 'qcow2', ownerProjectId: 'p1', visibility: 'public', path: disk });
    kit.images.set(imageId, { ...structuredClone(kit.images.get(IMAGE_ID) ?? ({} as never)), id: imageId, name: 'blank' });
    driver = new QemuDriver({ instancesDir: join(dir, 'instances'), prefix: 'sltc', accel: { accel: 'tcg', reason: 'test' }, powerOffTimeoutMs: 300, rebootTimeoutMs: 300 });
    ctl = new ServerController({ core: kit.core, driver, bindingFor: async () => undefined, images: computeImagesFrom(ctx()), log: pino({ level: 'silent' }), scratchDir: dir });
  });
  after(async () => {
    for (const i of await driver.list()) await driver.destroy(i.id);
    await kit.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function status(id: string): Promise<string> {
    const s = await kit.core.instances.get(id);
    assert.ok(s);
    return statusOf(s.vm_state, s.task_state, s.deleted === 1);
  }

  async function act(id: string, action: Parameters<typeof simpleAction>[3], want: string, host: string | undefined): Promise<void> {
    await simpleAction(kit.core, demo, id, action, 'r');
    await ctl.reconcile(id);
    assert.equal(await status(id), want, action);
    assert.equal((await driver.status(id))?.state, host, action);
  }

  test('lifecycle, crash, snapshot and delete on real QEMU processes', { timeout: 120_000 }, async () => {
    const { servers } = await createServers(kit.core, demo, { name: 'q1', imageRef: imageId, flavorRef: '42', metadata: {}, networks: 'none', configDrive: false, minCount: 1, maxCount: 1, tags: [] }, 'r');
    const id = servers[0]?.id ?? '';
    await ctl.reconcile(id);
    assert.equal(await status(id), 'ACTIVE');
    const st = await driver.status(id);
    assert.equal(st?.state, 'running');
    assert.ok(st.pid);

    await act(id, 'pause', 'PAUSED', 'paused');
    await act(id, 'unpause', 'ACTIVE', 'running');
    await act(id, 'suspend', 'SUSPENDED', 'suspended');
    await act(id, 'resume', 'ACTIVE', 'running');
    await act(id, 'reboot_hard', 'ACTIVE', 'running');

    const snap = await createImage(kit.core, demo, id, 'q1-snap', {}, 'r');
    await ctl.reconcile(id);
    assert.equal(await status(id), 'ACTIVE');
    const img = await imageService(ctx()).repo.get(snap);
    assert.equal(img?.status, 'active');
    assert.equal(img.disk_format, 'qcow2');
    assert.equal((await readdir(dir)).filter((f) => f.startsWith('stacklet-snap-')).length, 0, 'scratch files removed');

    await act(id, 'stop', 'SHUTOFF', 'shutdown');
    await act(id, 'start', 'ACTIVE', 'running');

    // QEMU killed under a running server (OOM killer, a person): SHUTOFF, never ACTIVE.
    const pid = (await driver.status(id))?.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && (await driver.status(id))?.state === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    await ctl.reconcile(id);
    assert.equal(await status(id), 'SHUTOFF');

    await deleteServer(kit.core, demo, id, 'r');
    await ctl.reconcile(id);
    assert.equal((await kit.core.instances.get(id))?.deleted, 1);
    assert.equal(await driver.status(id), undefined);
    assert.equal(existsSync(join(dir, 'instances', `sltc-${id}`)), false, 'instance dir removed');
  });
});
