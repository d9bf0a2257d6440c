import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyList, filterItems } from './query.js';

const items = [
  { id: 'a', name: 'x', admin_state_up: true, mtu: 1450, tags: ['red', 'blue'], fixed_ips: [{ subnet_id: 's1', ip_address: '10.0.0.3' }], security_groups: ['g1'] },
  { id: 'b', name: 'y', admin_state_up: false, mtu: 1500, tags: ['red'], fixed_ips: [{ subnet_id: 's2', ip_address: '10.0.1.3' }], security_groups: [] },
  { id: 'c', name: 'x', admin_state_up: true, mtu: 1500, tags: [], fixed_ips: [], security_groups: ['g1', 'g2'] },
];
const ids = (l: Record<string, unknown>[]) => l.map((i) => i['id']);

test('filters: any attribute, repeated keys are OR, booleans and numbers converted, unknown ignored', () => {
  assert.deepEqual(ids(filterItems(items, { name: 'x' })), ['a', 'c']);
  assert.deepEqual(ids(filterItems(items, { name: ['x', 'y'], admin_state_up: 'False' })), ['b']);
  assert.deepEqual(ids(filterItems(items, { mtu: '1500' })), ['b', 'c']);
  assert.deepEqual(ids(filterItems(items, { nonsense: 'z' })), ['a', 'b', 'c']);
  assert.deepEqual(ids(filterItems(items, { security_groups: 'g2' })), ['c']);
  assert.throws(() => filterItems(items, { admin_state_up: 'maybe' }), /not a valid boolean/);
});

test('tag filters', () => {
  assert.deepEqual(ids(filterItems(items, { tags: 'red,blue' })), ['a']);
  assert.deepEqual(ids(filterItems(items, { 'tags-any': 'blue,red' })), ['a', 'b']);
  assert.deepEqual(ids(filterItems(items, { 'not-tags': 'red,blue' })), ['b', 'c']);
  assert.deepEqual(ids(filterItems(items, { 'not-tags-any': 'red' })), ['c']);
});

test('fixed_ips filters', () => {
  assert.deepEqual(ids(filterItems(items, { fixed_ips: 'ip_address=10.0.1.3' })), ['b']);
  assert.deepEqual(ids(filterItems(items, { fixed_ips: ['subnet_id=s1', 'ip_address=10.0.1.3'] })), []);
  assert.deepEqual(ids(filterItems(items, { fixed_ips: 'ip_address_substr=10.0' })), ['a', 'b']);
});

test('sorting, fields and pagination with links', () => {
  const sorted = applyList(items, { sort_key: ['name', 'mtu'], sort_dir: ['desc', 'asc'] }, 'http://x/v2.0/ports');
  assert.deepEqual(ids(sorted.items), ['b', 'a', 'c']);
  const p1 = applyList(items, { limit: '2' }, 'http://x/v2.0/ports');
  assert.deepEqual(ids(p1.items), ['a', 'b']);
  assert.equal(p1.links?.[0]?.rel, 'next');
  assert.match(p1.links?.[0]?.href ?? '', /marker=b/);
  const p2 = applyList(items, { limit: '2', marker: 'b' }, 'http://x/v2.0/ports');
  assert.deepEqual(ids(p2.items), ['c']);
  assert.deepEqual(p2.links?.map((l) => l.rel), ['previous']);
  const f = applyList(items, { fields: ['id', 'mtu'] }, 'http://x');
  assert.deepEqual(f.items[0], { id: 'a', mtu: 1450 });
  assert.throws(() => applyList(items, { sort_key: 'tags' }, 'x'), /invalid attribute for sort_keys/);
});
