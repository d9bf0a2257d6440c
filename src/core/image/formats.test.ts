import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeInspection, type InspectedFile } from './formats.js';

const file = (over: Partial<InspectedFile>): InspectedFile => ({
  format: 'raw',
  virtualSize: 1024,
  backingFilename: undefined,
  dataFile: undefined,
  vmdkCreateType: undefined,
  vmdkExtents: [],
  corrupt: false,
  ...over,
});

test('raw-like declarations accept what qemu-img calls raw', () => {
  for (const d of ['raw', 'iso', 'ami', 'aki', 'ari'] as const) assert.deepEqual(judgeInspection(d, file({})), { ok: true, virtualSize: 1024 });
});

test('a qcow2 declared raw is refused and the reason names both formats', () => {
  const v = judgeInspection('raw', file({ format: 'qcow2' }));
  assert.equal(v.ok, false);
  assert.match(v.ok ? '' : v.reason, /declared raw but the data is qcow2/);
});

test('raw bytes declared qcow2 are refused', () => {
  const v = judgeInspection('qcow2', file({}));
  assert.equal(v.ok, false);
});

test('vhd maps to qemu-img vpc and ploop to parallels', () => {
  assert.equal(judgeInspection('vhd', file({ format: 'vpc' })).ok, true);
  assert.equal(judgeInspection('ploop', file({ format: 'parallels' })).ok, true);
  const v = judgeInspection('raw', file({ format: 'vpc' }));
  assert.match(v.ok ? '' : v.reason, /data is vhd/);
});

test('a backing file or an external data file is refused with the path', () => {
  const b = judgeInspection('qcow2', file({ format: 'qcow2', backingFilename: '/etc/shadow' }));
  assert.match(b.ok ? '' : b.reason, /backing file \(\/etc\/shadow\)/);
  const d = judgeInspection('qcow2', file({ format: 'qcow2', dataFile: '/dev/sda' }));
  assert.match(d.ok ? '' : d.reason, /external data file \(\/dev\/sda\)/);
});

test('only single-file vmdk types pass', () => {
  assert.equal(judgeInspection('vmdk', file({ format: 'vmdk', vmdkCreateType: 'monolithicSparse' })).ok, true);
  assert.equal(judgeInspection('vmdk', file({ format: 'vmdk', vmdkCreateType: 'streamOptimized' })).ok, true);
  assert.equal(judgeInspection('vmdk', file({ format: 'vmdk', vmdkCreateType: 'monolithicFlat' })).ok, false);
});

test('a corrupt qcow2 is refused', () => {
  assert.equal(judgeInspection('qcow2', file({ format: 'qcow2', corrupt: true })).ok, false);
});
