import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus, tmpdir, totalmem } from 'node:os';
import { hostFigures } from './host-info.js';

test('host figures are this machine’s, with the accelerator passed through', async () => {
  const accel = { accel: 'tcg' as const, reason: 'test' };
  const f = await hostFigures(tmpdir(), '7.2.22', accel);
  assert.equal(f.vcpus, cpus().length);
  assert.equal(f.memoryTotalMiB, Math.floor(totalmem() / 2 ** 20));
  assert.ok(f.memoryFreeMiB > 0 && f.memoryFreeMiB <= f.memoryTotalMiB);
  assert.ok(f.diskTotalGiB >= f.diskFreeGiB);
  assert.equal(f.qemuVersion, '7.2.22');
  assert.deepEqual(f.accel, accel);
  assert.ok(f.hostname.length > 0);
});
