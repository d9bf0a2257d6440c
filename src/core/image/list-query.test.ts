import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../errors.js';
import { parseListQuery, splitIn } from './list-query.js';

const bad = (e: unknown) => e instanceof CloudError && e.status === 400;

test('defaults: accepted members, not hidden, newest first, 25 a page', () => {
  const q = parseListQuery({});
  assert.equal(q.memberStatus, 'accepted');
  assert.equal(q.hidden, false);
  assert.deepEqual(q.sort, [{ key: 'created_at', dir: 'desc' }]);
  assert.equal(q.limit, 25);
});

test('filters, tags and property filters', () => {
  const q = parseListQuery({ name: 'in:a,"b,c"', tag: ['x', 'y'], size_min: '10', os_hidden: 'true', hw_disk_bus: 'virtio', limit: '5000' });
  assert.deepEqual(q.names, ['a', 'b,c']);
  assert.deepEqual(q.tags, ['x', 'y']);
  assert.equal(q.sizeMin, 10);
  assert.equal(q.hidden, true);
  assert.deepEqual(q.properties, { hw_disk_bus: 'virtio' });
  assert.equal(q.limit, 1000);
});

test('both sort syntaxes', () => {
  assert.deepEqual(parseListQuery({ sort: 'name:asc,size' }).sort, [
    { key: 'name', dir: 'asc' },
    { key: 'size', dir: 'desc' },
  ]);
  assert.deepEqual(parseListQuery({ sort_key: ['name', 'size'], sort_dir: 'asc' }).sort, [
    { key: 'name', dir: 'asc' },
    { key: 'size', dir: 'asc' },
  ]);
  assert.throws(() => parseListQuery({ sort: 'name', sort_key: 'size' }), bad);
  assert.throws(() => parseListQuery({ sort_key: ['name', 'size', 'id'], sort_dir: ['asc', 'desc'] }), bad);
  assert.throws(() => parseListQuery({ sort: 'owner:asc' }), bad);
  assert.throws(() => parseListQuery({ sort: 'name:up' }), bad);
});

test('bad values are 400', () => {
  for (const q of [{ limit: '-1' }, { limit: 'x' }, { visibility: 'everyone' }, { member_status: 'maybe' }, { size_max: '-3' }, { protected: 'perhaps' }, { created_at: 'gt:yesterday' }, { 'changes-since': 'x' }]) {
    assert.throws(() => parseListQuery(q), bad, JSON.stringify(q));
  }
});

test('time filters take an operator', () => {
  assert.deepEqual(parseListQuery({ created_at: 'gte:2024-01-01T00:00:00Z' }).times, [{ column: 'created_at', op: 'gte', value: '2024-01-01T00:00:00.000Z' }]);
});

test('splitIn', () => {
  assert.deepEqual(splitIn('plain,value'), ['plain,value']);
  assert.deepEqual(splitIn('in:a,b'), ['a', 'b']);
  assert.throws(() => splitIn('in:"a'), bad);
});
