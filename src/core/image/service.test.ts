import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { qemuImgInfo } from '../../host/image/qemu-img.js';
import { openStore, type OpenedStore } from '../../store/db.js';
import { ImageFiles } from '../../store/image/files.js';
import { ImageRepo } from '../../store/image/repo.js';
import type { AuthContext } from '../auth.js';
import { CloudError } from '../errors.js';
import { createImageFromFile, imageForBoot } from './index.js';
import { ImageService } from './service.js';

function auth(projectId: string, roles: { admin?: boolean; member?: boolean } = { member: true }): AuthContext {
  return {
    token: 't',
    userId: `u-${projectId}`,
    userName: 'u',
    userDomainId: 'default',
    userDomainName: 'Default',
    projectId,
    projectName: projectId,
    roles: [],
    methods: ['password'],
    auditIds: [],
    issuedAt: '',
    expiresAt: '',
    isAdmin: roles.admin === true,
    isMember: roles.admin === true || roles.member === true,
    isReader: true,
  };
}

const status = (n: number) => (e: unknown) => e instanceof CloudError && e.status === n;

describe('ImageService', () => {
  let store: OpenedStore;
  let dir = '';
  let svc: ImageService;
  const users = new Map<string, string[]>();
  const p1 = auth('p1');

  before(async () => {
    store = await openStore(':memory:');
    dir = mkdtempSync(join(tmpdir(), 'image-service-test-'));
    svc = new ImageService({
      repo: new ImageRepo(store.db),
      files: new ImageFiles(join(dir, 'images')),
      inspect: (p) => qemuImgInfo(p),
      usage: { usersOf: async (id) => users.get(id) ?? [] },
    });
    await svc.files.ensureDir();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an image in use cannot be deleted (409 naming the users)', async () => {
    const img = await svc.create(p1, { name: 'used', disk_format: 'raw', container_format: 'bare' });
    users.set(img.id, ['server vm-1']);
    await assert.rejects(svc.delete(p1, img.id), (e: unknown) => status(409)(e) && /in use by server vm-1/.test((e as Error).message));
    users.delete(img.id);
    await svc.delete(p1, img.id);
  });

  test('a failed inspection puts the image back to queued with no file', async () => {
    const img = await svc.create(p1, { name: 'liar', disk_format: 'raw', container_format: 'bare' });
    const q = join(dir, 'x.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', q, '1M']);
    const { createReadStream } = await import('node:fs');
    await assert.rejects(svc.upload(p1, img.id, createReadStream(q), undefined), status(400));
    assert.equal((await svc.show(p1, img.id)).status, 'queued');
    assert.deepEqual(readdirSync(join(dir, 'images')), []);
  });

  test('deleting an image while it uploads: the upload ends 410 and leaves nothing', async () => {
    const img = await svc.create(p1, { name: 'racing', disk_format: 'raw', container_format: 'bare' });
    const src = new Readable({ read() {} });
    src.push(Buffer.alloc(1024 * 1024));
    const up = svc.upload(p1, img.id, src, undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await svc.show(p1, img.id)).status, 'saving');
    await svc.delete(p1, img.id);
    src.push(null);
    await assert.rejects(up, status(410));
    assert.deepEqual(readdirSync(join(dir, 'images')), []);
  });

  test('a reader may look but not change', async () => {
    const reader = auth('p1', { member: false });
    const img = await svc.create(p1, { name: 'ro' });
    assert.equal((await svc.show(reader, img.id)).name, 'ro');
    await assert.rejects(svc.create(reader, { name: 'x' }), status(403));
    await assert.rejects(svc.delete(reader, img.id), status(403));
  });

  test('createImageFromFile registers through the same path and leaves nothing on failure', async () => {
    const ctx = { store, cfg: { dataDir: dir } };
    const f = join(dir, 'guest.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', f, '32M']);
    const id = await createImageFromFile(ctx, {
      name: 'cirros',
      diskFormat: 'qcow2',
      visibility: 'public',
      ownerProjectId: null,
      properties: { os_distro: 'cirros' },
      path: f,
    });
    const img = await svc.show(auth('anyone'), id);
    assert.equal(img.status, 'active');
    assert.equal(img.visibility, 'public');
    assert.equal(img.virtual_size, 32 * 1024 * 1024);
    assert.equal(img.properties['os_distro'], 'cirros');
    assert.equal(img.os_hash_algo, 'sha512');

    const boot = await imageForBoot(ctx, auth('p9'), id);
    assert.equal(boot.path, join(dir, 'images', id));
    const queued = await svc.create(p1, { name: 'not-yet', visibility: 'private' });
    await assert.rejects(imageForBoot(ctx, p1, queued.id), status(409));
    await assert.rejects(imageForBoot(ctx, auth('p9'), queued.id), status(404));

    const raw = join(dir, 'not-qcow2.img');
    writeFileSync(raw, Buffer.alloc(4096, 1));
    await assert.rejects(createImageFromFile(ctx, { name: 'bad', diskFormat: 'qcow2', ownerProjectId: 'p1', path: raw }), status(400));
    await assert.rejects(createImageFromFile(ctx, { name: 'missing', diskFormat: 'raw', ownerProjectId: 'p1', path: join(dir, 'nope') }), status(400));
    const page = await svc.list(auth('admin', { admin: true }), { memberStatus: 'all', hidden: false, tags: [], properties: {}, times: [], sort: [{ key: 'name', dir: 'asc' }], limit: 100 });
    assert.ok(!page.images.some((i) => i.name === 'bad' || i.name === 'missing'));
  });
});
