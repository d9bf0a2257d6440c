/**
 * Tiny guest figures: artifact sizes and boot time, QEMU start → SSH
 * answering, median of N boots (default 5) for each packaging, under TCG,
 * in a namespace of its own (prefix sltgb). Run as root:
 *   npx tsx bench/tiny-guest.ts [--runs N] [--cache DIR]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTinyGuest } from '../src/host/image/tiny/index.js';
import type { TinyGuestPackaging } from '../src/host/image/tiny/index.js';
import { TinyGuestSandbox, removeStaleSandboxes } from '../test/integration/tiny-guest/sandbox.js';

const READY = 'Stacklet tiny guest ready';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB (${(n / 1048576).toFixed(2)} MiB)`;
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark makes a network namespace, a bridge and a tap');
  const runs = Number(arg('--runs', '5'));
  const cacheDir = arg('--cache', process.env.STACKLET_TINY_CACHE ?? '/var/cache/stacklet-test/tiny');

  const t0 = Date.now();
  const guest = await buildTinyGuest({ cacheDir, onProgress: (s) => console.log(`build: ${s}`) });
  console.log(`build (or cache hit): ${sec(Date.now() - t0)}`);
  console.log(`kernel ${guest.kernelRelease}: ${mb(guest.sizes.kernel)}`);
  console.log(`initramfs (LZ4): ${mb(guest.sizes.initramfs)}; unpacked ${mb(guest.sizes.initramfsUnpacked)}`);
  console.log(`kernel + initramfs: ${mb(guest.sizes.kernel + guest.sizes.initramfs)}`);
  console.log(`disk (${guest.diskFormat}): ${mb(guest.sizes.disk)} on disk, ${mb(guest.sizes.diskVirtual)} virtual`);
  console.log(`cmdline: ${guest.cmdline}`);
  const load = (await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ').slice(0, 3).join(' ');
  console.log(`load average before booting: ${load} (wall-clock figures stretch with it; QEMU CPU time stretches less)`);

  await removeStaleSandboxes('sltgb');
  const workDir = await mkdtemp(join(tmpdir(), 'sltgb-'));
  const sb = await TinyGuestSandbox.create({ prefix: 'sltgb', workDir, slots: 1 });
  try {
    const slot = sb.slot(0);
    await sb.setMetadata(slot, {
      openstack: { metaData: { uuid: 'bench', hostname: 'sltgb-vm', public_keys: { bench: sb.publicKey } } },
    });
    const packagings: Array<[TinyGuestPackaging, string]> = [
      ['direct', 'microvm, -kernel/-initrd'],
      ['disk', 'q35, SeaBIOS, SYSLINUX, qcow2'],
    ];
    for (const [packaging, label] of packagings) {
      const banner: number[] = [];
      const login: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        const vm = await sb.boot(guest, slot, packaging);
        try {
          banner.push(await vm.waitForSshBanner());
          cpu.push(await vm.cpuMs());
          const out = await sb.sshUntil(slot, 'hostname', 60_000);
          login.push(Date.now() - vm.startedAt);
          if (out.trim() !== 'sltgb-vm') throw new Error(`unexpected hostname ${out.trim()}`);
          await vm.waitForSerial(READY, 60_000);
        } finally {
          await vm.stop();
        }
        console.log(`  ${packaging} #${i + 1}: SSH banner ${sec(banner[i] ?? 0)} (QEMU CPU ${sec(cpu[i] ?? 0)}), ssh hostname done ${sec(login[i] ?? 0)}`);
      }
      console.log(
        `${packaging} (${label}), median of ${runs}: SSH answering ${sec(median(banner))}, ` +
          `SSH login + command done ${sec(median(login))}; QEMU CPU time until SSH ${sec(median(cpu))}`,
      );
    }
  } finally {
    await sb.destroy();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
