import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { InstanceSpec, MachineType } from '../driver.js';
import { computeDriverConformance } from '../conformance.js';
import { isComputeError } from '../errors.js';
import { FakeComputeDriver } from './driver.js';

function spec(machine: MachineType): InstanceSpec {
  return {
    id: randomUUID(),
    name: 'vm',
    memoryMiB: 128,
    vcpus: 1,
    machine,
    ...(machine === 'microvm' ? { kernel: { kernel: '/k', cmdline: 'console=ttyS0' } } : { rootDisk: { image: { path: '/i.qcow2', format: 'qcow2' as const } } }),
    nics: [],
  };
}

describe('fake compute driver: conformance', () => {
  const driver = new FakeComputeDriver();
  computeDriverConformance(() => ({ driver, spec }));
});

describe('fake compute driver: test controls', () => {
  test('records calls in order, with their arguments', async () => {
    const d = new FakeComputeDriver();
    const s = spec('q35');
    await d.ensureRunning(s);
    await d.attachInterface(s.id, { portId: 'p1', tap: 'tap1', mac: 'fa:16:3e:00:00:01' });
    await d.powerOff(s.id);
    assert.deepEqual(
      d.calls.map((c) => [c.method, c.id]),
      [
        ['ensureRunning', s.id],
        ['attachInterface', s.id],
        ['powerOff', s.id],
      ],
    );
    assert.deepEqual(d.nicsOf(s.id).map((n) => n.portId), ['p1']);
  });

  test('failNext makes one call fail, crash() kills the process', async () => {
    const d = new FakeComputeDriver();
    const s = spec('microvm');
    d.failNext('ensureRunning');
    await assert.rejects(d.ensureRunning(s), (e: unknown) => isComputeError(e, 'HostFailure'));
    assert.equal((await d.ensureRunning(s)).state, 'running');
    d.crash(s.id);
    assert.equal((await d.status(s.id))?.state, 'shutdown');
    d.writeConsole(s.id, 'a', 'b', 'c');
    assert.equal(await d.consoleLog(s.id, { lines: 2 }), 'b\nc\n');
  });

  test('snapshots need a root disk', async () => {
    const d = new FakeComputeDriver();
    const m = spec('microvm');
    await d.ensureRunning(m);
    await assert.rejects(d.snapshotDisk(m.id, { path: '/s', format: 'qcow2' }), (e: unknown) => isComputeError(e, 'NotFound'));
    const q = spec('q35');
    await d.ensureRunning(q);
    await d.snapshotDisk(q.id, { path: '/s', format: 'qcow2' });
    assert.equal(d.snapshots.get('/s'), q.id);
  });
});
