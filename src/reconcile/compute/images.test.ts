import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { authOf } from '../../core/compute/testkit.js';
import { imageService } from '../../core/image/index.js';
import { openStore, type OpenedStore } from '../../store/db.js';
import { TerminalError } from '../controller.js';
import { computeImagesFrom } from './images.js';

/** The compute controller's view of the real image service: boot files and snapshot uploads (qemu-img inspects them). */

const run = promisify(execFile);

describe('compute images adapter', () => {
  let store: OpenedStore;
  let dir: string;
  let snapFile: string;
  before(async () => {
    store = await openStore(':memory:');
    dir = await mkdtemp(join(tmpdir(), 'stacklet-cimg-'));
    snapFile = join(dir, 'snap.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', snapFile, '64M']);
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const snap = (imageId: string) => ({ imageId, name: 'snap', projectId: 'p1', instanceId: 'i1', properties: { image_type: 'snapshot', instance_uuid: 'i1' } });

  test('a snapshot with no reserved image becomes an active qcow2 image with that id, bootable; twice is once', async () => {
    const ctx = { store, cfg: { dataDir: dir } };
    const images = computeImagesFrom(ctx);
    const id = '12345678-1234-4234-8234-123456789abc';
    assert.equal(await images.bootImage(id), undefined);
    await images.uploadSnapshot(snap(id), { path: snapFile, format: 'qcow2' });
    await images.uploadSnapshot(snap(id), { path: snapFile, format: 'qcow2' });
    const img = await imageService(ctx).repo.get(id);
    assert.equal(img?.status, 'active');
    assert.equal(img?.owner, 'p1');
    assert.equal(img?.properties['image_type'], 'snapshot');
    const boot = await images.bootImage(id);
    assert.equal(boot?.file.format, 'qcow2');
    assert.ok(boot && existsSync(boot.file.path), 'the data file exists');
    assert.ok(existsSync(snapFile), 'the scratch file is copied, not moved');
  });

  test('a reserved (queued) image receives the data; an unsupported format is a terminal error', async () => {
    const ctx = { store, cfg: { dataDir: dir } };
    const images = computeImagesFrom(ctx);
    const svc = imageService(ctx);
    const reserved = await svc.create(authOf('p1'), { name: 'snap2', disk_format: 'qcow2', container_format: 'bare' });
    assert.equal(await images.bootImage(reserved.id), undefined, 'no data yet');
    await images.uploadSnapshot(snap(reserved.id), { path: snapFile, format: 'qcow2' });
    assert.equal((await svc.repo.get(reserved.id))?.status, 'active');
    const vmdk = await svc.create(authOf('p1'), { name: 'v', disk_format: 'vmdk', container_format: 'bare' });
    await svc.repo.update(vmdk.id, { status: 'active' });
    await assert.rejects(images.bootImage(vmdk.id), (e: unknown) => e instanceof TerminalError && /qemu-img convert/.test(e.message));
  });
});
