import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../errors.js';
import { applyPatch, parsePatch, patchDialect } from './json-patch.js';
import type { Image } from './types.js';

const image: Image = {
  id: '6e8a3c1a-8a6b-4d2e-9d6c-1a2b3c4d5e6f',
  name: 'cirros',
  owner: 'p1',
  status: 'active',
  visibility: 'private',
  protected: false,
  os_hidden: false,
  disk_format: 'qcow2',
  container_format: 'bare',
  size: 10,
  virtual_size: 10,
  checksum: null,
  os_hash_algo: null,
  os_hash_value: null,
  min_disk: 0,
  min_ram: 0,
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: '2024-01-01T00:00:00.000Z',
  properties: { os_distro: 'cirros' },
  tags: ['a'],
};

const status = (n: number) => (e: unknown) => e instanceof CloudError && e.status === n;

test('the media type selects the dialect; anything else is 415 with Accept-Patch', () => {
  assert.equal(patchDialect('application/openstack-images-v2.1-json-patch'), 10);
  assert.equal(patchDialect('application/openstack-images-v2.0-json-patch; charset=utf-8'), 4);
  assert.throws(() => patchDialect('application/json'), (e: unknown) => e instanceof CloudError && e.status === 415 && Boolean(e.headers?.['Accept-Patch']));
});

test('add, replace and remove on base attributes and custom properties', () => {
  const ops = parsePatch(
    [
      { op: 'replace', path: '/name', value: 'new' },
      { op: 'add', path: '/hw_disk_bus', value: 'virtio' },
      { op: 'replace', path: '/os_distro', value: 'debian' },
      { op: 'add', path: '/min_ram', value: 64 },
      { op: 'add', path: '/tags', value: ['x', 'y', 'x'] },
    ],
    10,
  );
  const r = applyPatch(image, ops, 10);
  assert.deepEqual(r.base, { name: 'new', min_ram: 64 });
  assert.deepEqual(r.properties, { os_distro: 'debian', hw_disk_bus: 'virtio' });
  assert.deepEqual(r.tags, ['x', 'y']);
  const rm = applyPatch(image, parsePatch([{ op: 'remove', path: '/os_distro' }], 10), 10);
  assert.deepEqual(rm.properties, {});
});

test("Glance's path rules", () => {
  assert.throws(() => parsePatch([{ op: 'add', path: 'name', value: 'x' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/a//b', value: 'x' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/a/', value: 'x' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/a/b', value: 'x' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/a~2', value: 'x' }], 10), status(400));
  assert.deepEqual(parsePatch([{ op: 'add', path: '/a~1b', value: 'x' }], 10), [{ op: 'add', attr: 'a/b', value: 'x' }]);
});

test('bad operations and values', () => {
  assert.throws(() => parsePatch({ op: 'add' }, 10), status(400));
  assert.throws(() => parsePatch(['x'], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'move', path: '/name' }], 10), status(400));
  assert.throws(() => parsePatch([{ path: '/name' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/name' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/min_ram', value: '5' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/min_ram', value: -1 }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/disk_format', value: 'floppy' }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/custom', value: 5 }], 10), status(400));
  assert.throws(() => parsePatch([{ op: 'add', path: '/visibility', value: 'everyone' }], 10), status(400));
});

test('read-only and reserved names are 403', () => {
  for (const p of ['/status', '/size', '/checksum', '/id', '/self', '/os_hash_value', '/locations']) {
    assert.throws(() => parsePatch([{ op: 'replace', path: p, value: 'x' }], 10), status(403), p);
  }
  for (const p of ['/deleted', '/os_glance_x', '/__proto__']) assert.throws(() => parsePatch([{ op: 'add', path: p, value: 'x' }], 10), status(403), p);
});

test('replace or remove of a missing property is 409; removing a base attribute is 403', () => {
  assert.throws(() => applyPatch(image, parsePatch([{ op: 'replace', path: '/nope', value: 'x' }], 10), 10), status(409));
  assert.throws(() => applyPatch(image, parsePatch([{ op: 'remove', path: '/nope' }], 10), 10), status(409));
  assert.throws(() => applyPatch(image, parsePatch([{ op: 'remove', path: '/constructor' }], 10), 10), status(409));
  assert.throws(() => applyPatch(image, parsePatch([{ op: 'remove', path: '/name' }], 10), 10), status(403));
});

test('the v2.0 dialect: one op member, and add refuses what exists', () => {
  const ops = parsePatch([{ add: '/new', value: 'v' }, { replace: '/name', value: 'n' }], 4);
  assert.deepEqual(applyPatch(image, ops, 4).properties, { os_distro: 'cirros', new: 'v' });
  assert.throws(() => parsePatch([{ add: '/a', replace: '/b', value: 'v' }], 4), status(400));
  assert.throws(() => applyPatch(image, parsePatch([{ add: '/os_distro', value: 'v' }], 4), 4), status(409));
});
