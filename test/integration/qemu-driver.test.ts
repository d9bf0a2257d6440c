/**
 * The QEMU compute driver on the real host: the tiny guest under TCG (never
 * -accel kvm here), in a network namespace this test makes (bridge, taps,
 * dnsmasq), with its SSH key on a config drive the driver builds. Both
 * packagings: direct kernel boot on microvm and the disk image on q35.
 * Cleanup is by PID and by name.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { computeDriverConformance } from '../../src/host/compute/conformance.js';
import type { InstanceSpec, MachineType } from '../../src/host/compute/driver.js';
import { isComputeError } from '../../src/host/compute/errors.js';
import { DEFAULT_GUEST_NICE, QemuDriver, type QemuDriverOptions } from '../../src/host/compute/qemu/driver.js';
import { isAlive } from '../../src/host/compute/qemu/process.js';
import { pipeUnixSocket } from '../../src/host/compute/qemu/console.js';
import { hasCommand, killInstances, READY_BANNER, removeStaleNamespaces, sh, TestNet, tinyGuestCopy, until, type TestGuest } from './qemu-fixture.js';

const PREFIX = 'slqd';
const keep = process.env['STACKLET_KEEP_TEST_ENV'] === '1';
const BOOT_MS = 180_000;

const skip =
  process.getuid?.() !== 0
    ? 'needs root (namespaces, taps, dnsmasq)'
    : !(await hasCommand('qemu-system-x86_64')) || !(await hasCommand('genisoimage'))
      ? 'qemu-system-x86_64 or genisoimage is not installed'
      : undefined;

let work = '';
let guest: TestGuest | undefined;
let net: TestNet | undefined;
let driverOpts: QemuDriverOptions | undefined;
let driver: QemuDriver | undefined;

before(async () => {
  if (skip) return;
  await removeStaleNamespaces(PREFIX);
  // Short: unix socket paths under it must fit in 108 bytes.
  work = await mkdtemp('/tmp/slqd-');
  guest = await tinyGuestCopy(join(work, 'guest'));
  net = await TestNet.create(PREFIX, join(work, 'net'), 4);
  driverOpts = {
    instancesDir: join(work, 'inst'),
    prefix: PREFIX,
    accel: { accel: 'tcg', reason: 'tests never use KVM' },
    netns: net.ns,
    powerOffTimeoutMs: 5_000,
    rebootTimeoutMs: 20_000,
  };
  driver = new QemuDriver(driverOpts);
});

after(async () => {
  if (skip) return;
  if (keep) {
    console.log(`keeping ${work} and namespace ${net?.ns ?? '-'} (STACKLET_KEEP_TEST_ENV=1)`);
    return;
  }
  if (driverOpts) await killInstances(driverOpts.instancesDir, PREFIX);
  await net?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

function ready(): { d: QemuDriver; n: TestNet; g: TestGuest } {
  if (!driver || !net || !guest) throw new Error('set-up did not finish');
  return { d: driver, n: net, g: guest };
}

function directSpec(g: TestGuest, n: TestNet, slot: number, hostname: string): InstanceSpec {
  const s = n.slot(slot);
  const id = randomUUID();
  return {
    id,
    name: hostname,
    memoryMiB: 128,
    vcpus: 1,
    kernel: { kernel: g.kernel, ramdisk: g.initramfs, cmdline: g.cmdline },
    nics: [{ portId: randomUUID(), tap: s.tap, mac: s.mac, mtu: 1500 }],
    configDrive: { 'openstack/latest/meta_data.json': JSON.stringify({ uuid: id, hostname, public_keys: { k: n.publicKey } }) },
  };
}

async function bannerCount(d: QemuDriver, id: string): Promise<number> {
  return (await d.consoleLog(id)).split(READY_BANNER).length - 1;
}

async function waitBanners(d: QemuDriver, id: string, count: number): Promise<void> {
  await until(`${count} boot banner(s) on ${id}'s console`, BOOT_MS, async () => ((await bannerCount(d, id)) >= count ? true : undefined));
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('QEMU driver: the shared driver conformance suite', { skip }, () => {
  computeDriverConformance(() => {
    const { d, g } = ready();
    return {
      driver: d,
      // No NIC and no wait for the guest: the suite checks what the driver decides, not what the guest does.
      spec: (machine: MachineType): InstanceSpec => ({
        id: randomUUID(),
        name: 'conformance',
        memoryMiB: 128,
        vcpus: 1,
        machine,
        ...(machine === 'microvm'
          ? { kernel: { kernel: g.kernel, ramdisk: g.initramfs, cmdline: g.cmdline } }
          : { rootDisk: { image: { path: g.disk, format: g.diskFormat } } }),
        nics: [],
      }),
    };
  });
});

describe('QEMU driver on the real host (TCG)', { skip }, () => {
  test('direct kernel boot on microvm: console, QMP status, SSH, pause, suspend to file, reboot, stop, destroy', { timeout: 600_000 }, async () => {
    const { d, n, g } = ready();
    const spec = directSpec(g, n, 0, 'slq-direct');
    const slot = n.slot(0);
    const started = await d.ensureRunning(spec);
    assert.equal(started.state, 'running');
    assert.equal(started.machine, 'microvm');
    assert.equal(started.accel, 'tcg');
    assert.equal((await d.ensureRunning(spec)).pid, started.pid, 'ensureRunning on a running instance starts nothing');
    await waitBanners(d, spec.id, 1);
    assert.match(await d.consoleLog(spec.id, { lines: 10 }), /source: +config drive/);
    assert.equal((await n.sshUntil(slot, 'hostname', 60_000)).trim(), 'slq-direct');
    assert.equal(await n.tapState(slot.tap), 'UP');
    const ps = (await readFile(`/proc/${started.pid ?? 0}/cmdline`, 'utf8')).split('\0');
    assert.ok(ps.includes('-uuid') && ps.includes(spec.id));
    // Booting guests yield to the control plane: the vCPU thread (and the session's scheduling group) run at the guest nice, QEMU's main loop does not.
    const niceOf = async (tid: number | string): Promise<number> =>
      Number((await readFile(`/proc/${started.pid ?? 0}/task/${tid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')[16]);
    const tids = await readdir(`/proc/${started.pid ?? 0}/task`);
    const nices = await Promise.all(tids.map(niceOf));
    assert.equal(await niceOf(started.pid ?? 0), 0, 'QEMU main loop at normal priority');
    assert.ok(nices.includes(DEFAULT_GUEST_NICE), `a vCPU thread at nice ${DEFAULT_GUEST_NICE}: ${nices.join(',')}`);
    const autogroup = await readFile(`/proc/${started.pid ?? 0}/autogroup`, 'utf8').catch(() => undefined);
    if (autogroup !== undefined) assert.match(autogroup, new RegExp(`nice ${DEFAULT_GUEST_NICE}\\b`));

    // The VNC server answers on its unix socket only, through the pipe the console proxy will use.
    const rfb = await new Promise<string>((resolve, reject) => {
      const ws = new Duplex({
        read() {},
        write(chunk: Buffer, _enc, cb) {
          resolve(chunk.toString());
          cb();
        },
      });
      d.vncSocket(spec.id)
        .then((path) => pipeUnixSocket(path, ws))
        .then((close) => void setTimeout(close, 2000))
        .catch(reject);
    });
    assert.match(rfb, /^RFB 003\.008/);

    await d.pause(spec.id);
    assert.equal((await d.status(spec.id))?.state, 'paused');
    await d.unpause(spec.id);
    assert.equal((await d.status(spec.id))?.state, 'running');

    // Suspend: memory to a file, no process; resume continues the same boot (uptime keeps counting).
    const up1 = Number((await n.ssh(slot, 'cut -d" " -f1 /proc/uptime')).trim());
    await d.suspend(spec.id);
    const suspended = await d.status(spec.id);
    assert.equal(suspended?.state, 'suspended');
    assert.equal(suspended?.pid, undefined);
    assert.equal(await isAlive(started.pid ?? 0), false);
    assert.ok((await stat(d.paths(spec.id).savedState)).size > 1024 * 1024);
    const resumed = await d.ensureRunning(spec);
    assert.equal(resumed.state, 'running');
    const up2 = Number((await n.sshUntil(slot, 'cut -d" " -f1 /proc/uptime', 60_000)).trim());
    assert.ok(up2 >= up1, `uptime went on across suspend/resume (${up1} → ${up2})`);
    await assert.rejects(stat(d.paths(spec.id).savedState), 'the state file is consumed');
    assert.equal(await bannerCount(d, spec.id), 1, 'resume did not boot the guest again');

    // microvm has no keyboard: soft reboot is a reset, and the guest boots again.
    await d.reboot(spec.id, 'soft');
    await waitBanners(d, spec.id, 2);
    assert.equal((await n.sshUntil(slot, 'hostname', 60_000)).trim(), 'slq-direct');

    await assert.rejects(d.attachInterface(spec.id, { portId: randomUUID(), tap: n.slot(3).tap, mac: n.slot(3).mac }), (e: unknown) =>
      isComputeError(e, 'Unsupported'),
    );

    // The tiny guest ignores the ACPI power button: powerOff falls back to stopping QEMU after the timeout.
    const t0 = Date.now();
    await d.powerOff(spec.id, { timeoutMs: 3_000 });
    assert.ok(Date.now() - t0 < 20_000, `powerOff took ${Date.now() - t0} ms`);
    assert.equal((await d.status(spec.id))?.state, 'shutdown');
    assert.equal(await n.tapState(slot.tap), 'DOWN', 'nothing holds the tap once QEMU is gone');
    await assert.rejects(d.pause(spec.id), (e: unknown) => isComputeError(e, 'InvalidState'));

    const dir = d.paths(spec.id).dir;
    await d.destroy(spec.id);
    assert.equal(await d.status(spec.id), undefined);
    await assert.rejects(stat(dir));
    await d.destroy(spec.id);
  });

  test('disk image on q35: read-only image under an overlay, NIC hot-plug and unplug, soft reboot, snapshot that boots', { timeout: 900_000 }, async () => {
    const { d, n, g } = ready();
    const image = join(work, 'image.qcow2');
    await sh(['cp', g.disk, image]);
    await chmod(image, 0o444);
    const imageHash = await sha256(image);
    const s1 = n.slot(1);
    const id = randomUUID();
    const spec: InstanceSpec = {
      id,
      name: 'slq-disk',
      memoryMiB: 128,
      vcpus: 1,
      rootDisk: { image: { path: image, format: g.diskFormat }, sizeGiB: 1 },
      nics: [{ portId: randomUUID(), tap: s1.tap, mac: s1.mac }],
      configDrive: { 'openstack/latest/meta_data.json': JSON.stringify({ uuid: id, hostname: 'slq-disk', public_keys: { k: n.publicKey } }) },
    };
    const st = await d.ensureRunning(spec);
    assert.equal(st.machine, 'q35');
    await waitBanners(d, id, 1);
    assert.equal((await n.sshUntil(s1, 'hostname', 60_000)).trim(), 'slq-disk');
    const info = JSON.parse(await sh(['qemu-img', 'info', '-U', '--output=json', d.paths(id).overlay])) as Record<string, unknown>;
    assert.equal(info['backing-filename'], image);
    assert.equal(info['virtual-size'], 1024 ** 3);

    // Hot-plug a second NIC; the guest sees it, then releases it on unplug.
    const s2 = n.slot(2);
    const port = randomUUID();
    await d.attachInterface(id, { portId: port, tap: s2.tap, mac: s2.mac });
    await d.attachInterface(id, { portId: port, tap: s2.tap, mac: s2.mac });
    await until('eth1 in the guest', 60_000, async () => ((await n.ssh(s1, 'ls /sys/class/net')).includes('eth1') ? true : undefined));
    assert.equal(await n.tapState(s2.tap), 'UP');
    await d.detachInterface(id, port);
    await until('eth1 gone from the guest', 60_000, async () => ((await n.ssh(s1, 'ls /sys/class/net')).includes('eth1') ? undefined : true));
    assert.equal(await n.tapState(s2.tap), 'DOWN');
    await d.detachInterface(id, port);

    // Soft reboot: Ctrl-Alt-Del reaches the guest's init, which reboots cleanly (busybox init says so).
    await d.reboot(id, 'soft');
    await waitBanners(d, id, 2);
    assert.match(await d.consoleLog(id), /Requesting system reboot/);
    assert.equal((await n.sshUntil(s1, 'hostname', 60_000)).trim(), 'slq-disk');
    await n.ssh(s1, 'echo written-before-snapshot > /tmp/x; sync');

    // Snapshot while running: flattened, no backing file, and it boots as a new instance.
    const snap = join(work, 'snap.qcow2');
    await d.snapshotDisk(id, { path: snap, format: 'qcow2' });
    assert.equal((await d.status(id))?.state, 'running', 'the guest runs again after the snapshot');
    const snapInfo = JSON.parse(await sh(['qemu-img', 'info', '--output=json', snap])) as Record<string, unknown>;
    assert.equal(snapInfo['backing-filename'], undefined);
    await d.destroy(id);
    await assert.rejects(stat(d.paths(id).overlay));
    assert.equal(await sha256(image), imageHash, 'the image was never written');

    const s3 = n.slot(3);
    const id2 = randomUUID();
    await d.ensureRunning({
      ...spec,
      id: id2,
      rootDisk: { image: { path: snap, format: 'qcow2' } },
      nics: [{ portId: randomUUID(), tap: s3.tap, mac: s3.mac }],
      configDrive: { 'openstack/latest/meta_data.json': JSON.stringify({ uuid: id2, hostname: 'slq-from-snap', public_keys: { k: n.publicKey } }) },
    });
    await waitBanners(d, id2, 1);
    assert.equal((await n.sshUntil(s3, 'hostname', 60_000)).trim(), 'slq-from-snap');
    await d.reboot(id2, 'hard');
    await waitBanners(d, id2, 2);
    await d.destroy(id2);
    assert.deepEqual(await d.list(), []);
  });

  test('QEMU outlives a SIGKILLed Stacklet, is found again by its pid file, and destroy leaves nothing', { timeout: 300_000 }, async () => {
    const { n, g } = ready();
    const spec = directSpec(g, n, 0, 'slq-survivor');
    // A separate node process starts the instance and then SIGKILLs itself, as a crashing Stacklet would.
    const driverUrl = new URL('../../src/host/compute/qemu/driver.js', import.meta.url).href;
    const code = `
      const { QemuDriver } = await import(${JSON.stringify(driverUrl)});
      const d = new QemuDriver(JSON.parse(process.env.SLQ_OPTS));
      const st = await d.ensureRunning(JSON.parse(process.env.SLQ_SPEC));
      process.stdout.write(JSON.stringify(st) + '\\n', () => process.kill(process.pid, 'SIGKILL'));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, SLQ_OPTS: JSON.stringify(driverOpts), SLQ_SPEC: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (out += s));
    const signal = await new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    assert.equal(signal, 'SIGKILL');
    const first = JSON.parse(out) as { pid: number; state: string };
    assert.equal(first.state, 'running');

    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(await isAlive(first.pid), 'QEMU still runs after its starter was killed');
    const again = new QemuDriver(driverOpts ?? ({} as QemuDriverOptions));
    const listed = await again.list();
    assert.deepEqual(
      listed.map((s) => [s.id, s.state, s.pid]),
      [[spec.id, 'running', first.pid]],
    );
    await waitBanners(again, spec.id, 1);

    const p = again.paths(spec.id);
    await again.destroy(spec.id);
    assert.equal(await isAlive(first.pid), false);
    await assert.rejects(stat(p.dir), 'no overlay, socket, state or log is left');
    assert.equal(await n.tapState(n.slot(0).tap), 'DOWN');
    assert.deepEqual(await again.list(), []);
  });

  test('a killed QEMU shows as shut down, with its stale pid file ignored', { timeout: 300_000 }, async () => {
    const { d, n, g } = ready();
    const spec = directSpec(g, n, 1, 'slq-killed');
    const st = await d.ensureRunning(spec);
    process.kill(st.pid ?? 0, 'SIGKILL');
    await until('QEMU to die', 10_000, async () => ((await isAlive(st.pid ?? 0)) ? undefined : true));
    assert.equal((await d.status(spec.id))?.state, 'shutdown');
    // Starting again works over the leftovers (pid file and sockets of the dead process).
    const st2 = await d.ensureRunning(spec);
    assert.equal(st2.state, 'running');
    assert.notEqual(st2.pid, st.pid);
    await d.destroy(spec.id);
  });
});
