/**
 * The KVM probe on the real host. It is the only test allowed to use
 * -accel kvm: it boots the tiny guest's kernel under KVM and must come back
 * within its timeout either way (on KVM-PVM hosts the guest hangs before
 * printing anything, so the answer there is TCG with the reason). No probe
 * QEMU may be left behind, and the answer is cached.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { probeAccel } from '../../src/host/compute/qemu/probe.js';
import { hasCommand, tinyGuestCopy, type TestGuest } from './qemu-fixture.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !(await hasCommand('qemu-system-x86_64')) ? 'qemu-system-x86_64 is not installed' : undefined;

let work = '';
let guest: TestGuest | undefined;

before(async () => {
  if (skip) return;
  work = await mkdtemp('/tmp/slqp-');
  guest = await tinyGuestCopy(join(work, 'guest'));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** PIDs of processes whose command line mentions the given path. */
async function processesUsing(path: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(path)) out.push(Number(name));
  }
  return out;
}

test('probes KVM by booting a guest, within its timeout, and caches the answer', { skip, timeout: 120_000 }, async () => {
  if (!guest) throw new Error('set-up did not finish');
  const cacheFile = join(work, 'accel.json');
  const timeoutMs = 8_000;
  const t0 = Date.now();
  const first = await probeAccel({ cacheFile, kernel: guest.kernel, initrd: guest.initramfs, timeoutMs });
  const took = Date.now() - t0;
  console.log(`probe: ${first.accel} in ${took} ms: ${first.reason}`);
  assert.ok(first.accel === 'kvm' || first.accel === 'tcg');
  assert.ok(took < timeoutMs + 5_000, `the probe took ${took} ms`);
  assert.ok(first.reason.length > 10);
  if (!existsSync('/dev/kvm')) assert.equal(first.accel, 'tcg');
  if (first.accel === 'tcg') assert.match(first.reason, /TCG/);
  assert.deepEqual(await processesUsing(guest.kernel), [], 'no probe QEMU is left running');

  const t1 = Date.now();
  const cached = await probeAccel({ cacheFile, kernel: guest.kernel, initrd: guest.initramfs, timeoutMs });
  // Under load `qemu --version` alone can take seconds; a fresh probe would take the whole timeout.
  assert.ok(Date.now() - t1 < timeoutMs, 'the second answer comes from the cache');
  assert.equal(cached.accel, first.accel);
  assert.match(cached.reason, /probed /);
  const entry = JSON.parse(await readFile(cacheFile, 'utf8')) as { key: string };
  assert.match(entry.key, /^qemu \d+\.\d+\.\d+; host kernel /);
});

test('a host without /dev/kvm is TCG without booting anything', { skip, timeout: 30_000 }, async () => {
  if (!guest) throw new Error('set-up did not finish');
  const r = await probeAccel({ cacheFile: join(work, 'nokvm.json'), kernel: guest.kernel, kvmDevice: join(work, 'no-such-kvm') });
  assert.equal(r.accel, 'tcg');
  assert.match(r.reason, /does not exist/);
});
