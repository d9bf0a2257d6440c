/**
 * Image data throughput on loopback:
 *
 *   node dist/bench/image.js            (SIZE_MB=1024 RUNS=3 by default)
 *
 * Starts a real Stacklet (a child process, as in the e2e tests), then for
 * each run uploads SIZE_MB of random bytes with PUT /v2/images/{id}/file
 * (md5 + sha512 computed by the server while it streams, qemu-img
 * inspection and fdatasync included) and downloads it back with GET. Prints
 * MB/s for each and the server's resident memory (VmRSS/VmHWM) around the
 * transfers. The client runs in this process; both share the machine's
 * cores with the server, as a local `openstack image create` would.
 *
 * STACKLET_IMAGE_HASH=inline and STACKLET_IMAGE_FSYNC=0 are passed through
 * to the server to compare the variants.
 *
 * Target (issue 3): ≥ 500 MB/s each way with hashes computed.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCloud } from '../test/helpers/cloud.js';

const SIZE_MB = Number(process.env['SIZE_MB'] ?? 1024);
const RUNS = Number(process.env['RUNS'] ?? 3);
const MB = 1024 * 1024;
const GiB = 1024 * MB;

function memory(pid: number): string {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return `RSS ${(kb('VmRSS') / 1024).toFixed(0)} MB (peak ${(kb('VmHWM') / 1024).toFixed(0)} MB)`;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function upload(c: TestCloud, token: string, id: string, file: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(`${c.baseUrl}/image/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 204 ? resolve(performance.now() - t0) : reject(new Error(`upload: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    createReadStream(file, { highWaterMark: MB }).pipe(req);
  });
}

function download(c: TestCloud, token: string, id: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let bytes = 0;
    const req = request(`${c.baseUrl}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } });
    req.on('response', (res) => {
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'stacklet-bench-image-'));
  const file = join(work, 'data.raw');
  const fd = openSync(file, 'w');
  for (let i = 0; i < SIZE_MB; i++) writeSync(fd, randomBytes(MB));
  closeSync(fd);
  const size = SIZE_MB * MB;

  const env: Record<string, string> = {};
  for (const k of ['STACKLET_IMAGE_HASH', 'STACKLET_IMAGE_FSYNC']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  const c = await TestCloud.start({ env });
  try {
    const pid = c.proc?.pid ?? 0;
    const token = await c.token('demo');
    console.log(`image data on loopback: ${SIZE_MB} MiB of random bytes, ${RUNS} runs, server ${JSON.stringify(env)}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`server before: ${memory(pid)}`);
    const up: number[] = [];
    const down: number[] = [];
    const upCpu: number[] = [];
    const downCpu: number[] = [];
    const clientCpu: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const created = await c.api<{ id: string }>('POST', '/image/v2/images', { token, body: { name: `bench-${r}`, disk_format: 'raw', container_format: 'bare' } });
      const id = created.body.id;
      const cpu0 = cpuSeconds(pid);
      const self0 = selfCpu();
      const upMs = await upload(c, token, id, file, size);
      const cpu1 = cpuSeconds(pid);
      const self1 = selfCpu();
      const d = await download(c, token, id);
      const cpu2 = cpuSeconds(pid);
      const self2 = selfCpu();
      upCpu.push((cpu1 - cpu0) / (size / GiB));
      downCpu.push((cpu2 - cpu1) / (size / GiB));
      clientCpu.push(((self1 - self0) + (self2 - self1)) / (size / GiB));
      if (d.bytes !== size) throw new Error(`downloaded ${d.bytes} of ${size} bytes`);
      up.push((size / MB) / (upMs / 1000));
      down.push((size / MB) / (d.ms / 1000));
      console.log(
        `run ${r + 1}: upload ${up.at(-1)?.toFixed(0)} MB/s (${(upMs / 1000).toFixed(2)} s, server CPU ${upCpu.at(-1)?.toFixed(2)} s/GiB), ` +
          `download ${down.at(-1)?.toFixed(0)} MB/s (${(d.ms / 1000).toFixed(2)} s, server CPU ${downCpu.at(-1)?.toFixed(2)} s/GiB); server ${memory(pid)}`,
      );
      await c.api('DELETE', `/image/v2/images/${id}`, { token });
    }
    const best = (xs: number[]) => Math.max(...xs).toFixed(0);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(0);
    console.log(`upload   (md5+sha512, inspect, fsync): median ${median(up)} MB/s, best ${best(up)} MB/s   target >= 500`);
    console.log(`download:                             median ${median(down)} MB/s, best ${best(down)} MB/s   target >= 500`);
    console.log(`server CPU per GiB (all threads): upload ${median(upCpu.map((x) => x * 1000))} ms, download ${median(downCpu.map((x) => x * 1000))} ms; client (this process) ${median(clientCpu.map((x) => x * 1000))} ms for both`);
    console.log(`load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs: wall-clock figures shrink when other work competes for the cores, CPU per GiB does not`);
    console.log('(MB = MiB)');
  } finally {
    await c.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
