import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseListQuery } from '../../core/image/list-query.js';
import type { Image, Viewer } from '../../core/image/types.js';
import { openStore, type OpenedStore } from '../db.js';
import { ImageRepo } from './repo.js';

function img(over: Partial<Image>): Image {
  return {
    id: randomUUID(),
    name: null,
    owner: 'p1',
    status: 'active',
    visibility: 'private',
    protected: false,
    os_hidden: false,
    disk_format: 'raw',
    container_format: 'bare',
    size: 10,
    virtual_size: 10,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    min_disk: 0,
    min_ram: 0,
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    properties: {},
    tags: [],
    ...over,
  };
}

describe('ImageRepo list', () => {
  let store: OpenedStore;
  let repo: ImageRepo;
  const names = (l: Image[]) => l.map((i) => i.name).sort();
  const list = (viewer: Viewer, q: Record<string, unknown> = {}) => {
    const { marker: _m, ...rest } = parseListQuery(q);
    return repo.list({ ...rest, viewer, limit: 100 });
  };

  before(async () => {
    store = await openStore(':memory:');
    repo = new ImageRepo(store.db);
    const shared = img({ name: 'shared-p1', visibility: 'shared' });
    const sharedPending = img({ name: 'shared-pending', visibility: 'shared' });
    for (const i of [
      img({ name: 'private-p1' }),
      img({ name: 'private-p2', owner: 'p2', properties: { hw_disk_bus: 'virtio' } }),
      img({ name: 'public-p2', owner: 'p2', visibility: 'public', tags: ['gold'] }),
      img({ name: 'community-p2', owner: 'p2', visibility: 'community' }),
      img({ name: 'hidden-p2', owner: 'p2', visibility: 'public', os_hidden: true }),
      shared,
      sharedPending,
    ]) {
      await repo.insert(i);
    }
    const now = new Date().toISOString();
    await repo.insertMember({ image_id: shared.id, member: 'p2', status: 'accepted', created_at: now, updated_at: now });
    await repo.insertMember({ image_id: sharedPending.id, member: 'p2', status: 'pending', created_at: now, updated_at: now });
  });
  after(async () => store.close());

  test("a project's default view: own, public, accepted shares; not community, not hidden", async () => {
    assert.deepEqual(names(await list({ projectId: 'p2', isAdmin: false })), ['community-p2', 'private-p2', 'public-p2', 'shared-p1']);
    assert.deepEqual(names(await list({ projectId: 'p3', isAdmin: false })), ['public-p2']);
  });

  test('visibility and member_status filters', async () => {
    const p2 = { projectId: 'p2', isAdmin: false };
    assert.deepEqual(names(await list(p2, { visibility: 'shared', member_status: 'pending' })), ['shared-pending']);
    assert.deepEqual(names(await list(p2, { visibility: 'shared', member_status: 'all' })), ['shared-p1', 'shared-pending']);
    assert.deepEqual(names(await list({ projectId: 'p3', isAdmin: false }, { visibility: 'community' })), ['community-p2']);
    assert.deepEqual(names(await list({ projectId: 'p3', isAdmin: false }, { visibility: 'private' })), []);
    assert.deepEqual(names(await list({ projectId: 'p3', isAdmin: false }, { os_hidden: 'true' })), ['hidden-p2']);
  });

  test('admin sees everything not hidden', async () => {
    assert.equal((await list({ projectId: 'admin', isAdmin: true })).length, 6);
  });

  test('tag and property filters', async () => {
    assert.deepEqual(names(await list({ projectId: 'p2', isAdmin: false }, { tag: 'gold' })), ['public-p2']);
    assert.deepEqual(names(await list({ projectId: 'p2', isAdmin: false }, { hw_disk_bus: 'virtio' })), ['private-p2']);
  });

  test('keyset pagination walks every image exactly once, in order', async () => {
    const admin = { projectId: 'admin', isAdmin: true };
    for (const sort of ['name:asc', 'name:desc', 'size:asc,name:desc', 'created_at:desc']) {
      const { marker: _m, ...rest } = parseListQuery({ sort });
      const seen: string[] = [];
      let marker: Image | undefined;
      for (;;) {
        const page = await repo.list({ ...rest, viewer: admin, limit: 2, marker });
        seen.push(...page.map((i) => i.id));
        if (page.length < 2) break;
        marker = page.at(-1);
      }
      const all = await repo.list({ ...rest, viewer: admin, limit: 100 });
      assert.deepEqual(seen, all.map((i) => i.id), sort);
    }
  });
});
