import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ComputeDriver, InstanceSpec, MachineType } from './driver.js';
import { isComputeError, type ComputeErrorCode } from './errors.js';

/**
 * The compute driver contract as tests, run against the fake (unit tests)
 * and the QEMU driver (integration tests), so a controller tested with the
 * fake meets the same behaviour on the host. Only what the driver itself
 * decides is checked here (states, idempotence, errors); what the guest
 * does is the integration tests' business.
 */

/** What a driver needs to run the suite. */
export interface ConformanceHarness {
  driver: ComputeDriver;
  /** A spec that starts on this host (fresh id each call). */
  spec(machine: MachineType): InstanceSpec;
  /** Per-test time budget (real QEMU is slower than a map). */
  timeoutMs?: number;
}

function rejectsWith(code: ComputeErrorCode): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isComputeError(e, code), `expected a ComputeError ${code}, got ${String(e)}`);
    return true;
  };
}

/** Registers the conformance tests (call inside a describe). */
export function computeDriverConformance(harness: () => ConformanceHarness): void {
  const t = (name: string, fn: (h: ConformanceHarness) => Promise<void>): void => {
    test(name, { timeout: 120_000 }, async () => {
      // A failed test must not leave its instances behind for the next ones to trip over.
      const h = harness();
      const made: string[] = [];
      const spec = (machine: MachineType): InstanceSpec => {
        const s = h.spec(machine);
        made.push(s.id);
        return s;
      };
      try {
        await fn({ ...h, spec });
      } finally {
        for (const id of made) await h.driver.destroy(id).catch(() => undefined);
      }
    });
  };

  t('start, idempotent start, pause and unpause, power off, destroy', async (h) => {
    const spec = h.spec('microvm');
    const d = h.driver;
    assert.equal(await d.status(spec.id), undefined);
    const s1 = await d.ensureRunning(spec);
    assert.equal(s1.state, 'running');
    assert.equal(s1.id, spec.id);
    assert.equal(s1.machine, 'microvm');
    assert.ok(s1.pid !== undefined);
    const s2 = await d.ensureRunning(spec);
    assert.equal(s2.pid, s1.pid, 'a running instance is left alone');
    await d.pause(spec.id);
    assert.equal((await d.status(spec.id))?.state, 'paused');
    assert.equal((await d.ensureRunning(spec)).state, 'paused', 'ensureRunning does not unpause');
    await d.unpause(spec.id);
    assert.equal((await d.status(spec.id))?.state, 'running');
    assert.ok((await d.list()).some((s) => s.id === spec.id && s.state === 'running'));
    await d.powerOff(spec.id, { timeoutMs: 1000 });
    const off = await d.status(spec.id);
    assert.equal(off?.state, 'shutdown');
    assert.equal(off?.pid, undefined);
    await d.powerOff(spec.id, { timeoutMs: 1000 });
    await d.destroy(spec.id);
    assert.equal(await d.status(spec.id), undefined);
    assert.ok(!(await d.list()).some((s) => s.id === spec.id));
    await d.destroy(spec.id);
  });

  t('suspend saves the instance; ensureRunning restores it; powerOff discards it', async (h) => {
    const spec = h.spec('microvm');
    const d = h.driver;
    await d.ensureRunning(spec);
    await d.suspend(spec.id);
    const s = await d.status(spec.id);
    assert.equal(s?.state, 'suspended');
    assert.equal(s?.pid, undefined);
    await d.suspend(spec.id);
    await assert.rejects(d.pause(spec.id), rejectsWith('InvalidState'));
    assert.equal((await d.ensureRunning(spec)).state, 'running');
    await d.suspend(spec.id);
    await d.powerOff(spec.id);
    assert.equal((await d.status(spec.id))?.state, 'shutdown');
    await d.destroy(spec.id);
  });

  t('operations that need a process say InvalidState when stopped and NotFound when unknown', async (h) => {
    const d = h.driver;
    const unknown = randomUUID();
    await assert.rejects(d.pause(unknown), rejectsWith('NotFound'));
    await assert.rejects(d.consoleLog(unknown), rejectsWith('NotFound'));
    await assert.rejects(d.vncSocket(unknown), rejectsWith('NotFound'));
    await assert.rejects(d.suspend(unknown), rejectsWith('NotFound'));
    await d.powerOff(unknown);
    await d.destroy(unknown);
    const spec = h.spec('microvm');
    await d.ensureRunning(spec);
    assert.match(await d.vncSocket(spec.id), /vnc/);
    await d.powerOff(spec.id, { timeoutMs: 1000 });
    for (const op of [() => d.pause(spec.id), () => d.unpause(spec.id), () => d.reboot(spec.id, 'hard'), () => d.vncSocket(spec.id)]) {
      await assert.rejects(op(), rejectsWith('InvalidState'));
    }
    assert.equal(typeof (await d.consoleLog(spec.id)), 'string', 'a stopped instance still has its log');
    await d.destroy(spec.id);
  });

  t('bad specs are InvalidSpec and leave nothing behind', async (h) => {
    const d = h.driver;
    const good = h.spec('microvm');
    const bad: InstanceSpec[] = [
      { ...good, id: 'not-a-uuid' },
      { ...good, memoryMiB: 1 },
      { ...good, machine: 'microvm', kernel: undefined },
      { ...good, vcpus: 0 },
    ];
    for (const spec of bad) await assert.rejects(d.ensureRunning(spec), rejectsWith('InvalidSpec'));
    assert.equal(await d.status(good.id), undefined);
  });

  t('NIC hot-plug is unsupported on microvm; detaching an unknown port is a no-op', async (h) => {
    const d = h.driver;
    const micro = h.spec('microvm');
    await d.ensureRunning(micro);
    const nic = { portId: randomUUID(), tap: 'slqnone0', mac: 'fa:16:3e:00:00:99' };
    await assert.rejects(d.attachInterface(micro.id, nic), rejectsWith('Unsupported'));
    await d.detachInterface(micro.id, randomUUID());
    await d.destroy(micro.id);
  });

  t('pausing twice is fine; a hard reboot of a paused instance runs it', async (h) => {
    const d = h.driver;
    const spec = h.spec('microvm');
    await d.ensureRunning(spec);
    await d.pause(spec.id);
    await d.pause(spec.id);
    await d.reboot(spec.id, 'hard');
    assert.equal((await d.status(spec.id))?.state, 'running', 'a hard reboot leaves the guest running');
    await d.destroy(spec.id);
  });
}
