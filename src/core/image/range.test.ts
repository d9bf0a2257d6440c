import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../errors.js';
import { parseRange } from './range.js';

const is416 = (e: unknown) => e instanceof CloudError && e.status === 416 && e.headers?.['Content-Range'] === 'bytes */100';

test('single ranges', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=50-1000', 100), { start: 50, end: 99 });
});

test('no header, several ranges and garbage mean the whole file', () => {
  assert.equal(parseRange(undefined, 100), undefined);
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
  assert.equal(parseRange('items=0-1', 100), undefined);
  assert.equal(parseRange('bytes=9-3', 100), undefined);
  assert.equal(parseRange('bytes=-', 100), undefined);
});

test('unsatisfiable ranges are 416 with Content-Range', () => {
  assert.throws(() => parseRange('bytes=100-', 100), is416);
  assert.throws(() => parseRange('bytes=-0', 100), is416);
  assert.throws(() => parseRange('bytes=200-300', 100), is416);
  assert.throws(() => parseRange('bytes=0-', 0), (e: unknown) => e instanceof CloudError && e.status === 416);
});
