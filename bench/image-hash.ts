/**
 * The upload pipeline without HTTP: how fast ImageFiles.receive takes a
 * stream into a file while computing md5 + sha512, per hashing mode.
 *
 *   node dist/bench/image-hash.js          (SIZE_MB=1024)
 *
 * Also prints the raw single-thread speed of md5 and sha512 on this CPU,
 * the ceiling for any one-pass design: hashing inline costs the sum of
 * both, the worker mode the larger of the two (given two free cores).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageFiles } from '../src/store/image/files.js';
import type { HashMode } from '../src/store/image/parallel-hash.js';

const SIZE_MB = Number(process.env['SIZE_MB'] ?? 1024);
const MB = 1024 * 1024;
const GiB = 1024 * MB;

/** CPU seconds this process (every thread) has used. */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** MB per CPU second of one algorithm on this core (CPU time, so other load does not distort it). */
function rawSpeed(algo: string): number {
  const buf = randomBytes(MB);
  const h = createHash(algo);
  const c0 = process.cpuUsage();
  for (let i = 0; i < 512; i++) h.update(buf);
  h.digest();
  const c = process.cpuUsage(c0);
  return 512 / ((c.user + c.system) / 1e6);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'stacklet-bench-hash-'));
  const src = join(work, 'data.raw');
  const fd = openSync(src, 'w');
  for (let i = 0; i < SIZE_MB; i++) writeSync(fd, randomBytes(MB));
  closeSync(fd);
  try {
    console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`one core: md5 ${rawSpeed('md5').toFixed(0)} MB/s, sha512 ${rawSpeed('sha512').toFixed(0)} MB/s (per CPU second)`);
    for (const mode of ['workers', 'inline'] as HashMode[]) {
      for (const sync of [false, true]) {
        const files = new ImageFiles(join(work, 'images'), { hashMode: mode, sync });
        await files.ensureDir();
        const t0 = performance.now();
        const c0 = cpuSeconds();
        const got = await files.receive(randomUUID(), createReadStream(src, { highWaterMark: 64 * 1024 }));
        const s = (performance.now() - t0) / 1000;
        const cpu = (cpuSeconds() - c0) / (got.size / GiB);
        console.log(
          `receive ${SIZE_MB} MiB, hashing ${mode.padEnd(7)} fsync ${sync ? 'on ' : 'off'}: ${(got.size / MB / s).toFixed(0)} MB/s, CPU ${cpu.toFixed(2)} s/GiB (all threads)`,
        );
        await files.discard(got.tmpPath);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
