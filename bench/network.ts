import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/db.js';
import { networkStoreOf } from '../src/store/network/store.js';
import pino from 'pino';
import { loadConfig } from '../src/config/config.js';
import { startCloud } from '../src/daemon/cloud.js';
import { freePort, MAIN } from '../test/helpers/cloud.js';
import { startDaemon, type BenchDaemon } from './daemon.js';

/**
 * Neutron figures, run by hand after a build:
 *
 *   node dist/bench/network.js          (BENCH_PORTS=1000 BENCH_SAMPLES=50 BENCH_LOG_LEVEL=info)
 *
 * - create a port over HTTP, p50 (target <= 5 ms)
 * - list 1,000 ports over HTTP, p50 (target <= 20 ms), as admin and as the owning project
 * - allocating the last free address of a /16 costs the same as the first: port create
 *   p50 on an empty /16 and on a /16 with one free address left (filled in the store
 *   directly, 65,532 allocations)
 *
 * The daemon runs as `stacklet up` does, as its own process, at log level info.
 * Then the same create and list in-process through Fastify's inject (auth,
 * routing, validation, handler and serialization; no socket, no client), the
 * server's own share of the latency on a machine where neighbours compete
 * for the CPU.
 */

const PORTS = Number(process.env['BENCH_PORTS'] ?? 1000);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 50);
const LOG_LEVEL = process.env['BENCH_LOG_LEVEL'] ?? 'info';

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
const f2 = (n: number) => n.toFixed(2);
const summary = (xs: number[]) => `p50 ${f2(pct(xs, 50))} ms  p90 ${f2(pct(xs, 90))} ms  (n=${xs.length})`;

/**
 * CPU milliseconds the daemon has used (user + system, from /proc): on a
 * busy machine wall-clock latency measures the neighbours too, CPU time per
 * request does not.
 */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}
const perRequest = (pid: number | undefined, before: number, n: number) => `daemon CPU ${f2((cpuMs(pid) - before) / n)} ms/request`;

function start(dataDir: string, port: number): Promise<BenchDaemon> {
  return startDaemon([MAIN, 'up', '--no-data-plane', '--no-seed', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], port, { STACKLET_LOG_LEVEL: LOG_LEVEL });
}

async function token(url: string, user: string, password: string, project: string): Promise<string> {
  const r = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
  const t = r.headers.get('x-subject-token');
  if (r.status !== 201 || !t) throw new Error(`token for ${user}: ${r.status}`);
  return t;
}

async function call<T>(url: string, tok: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${url}/network/v2.0${path}`, {
    method,
    headers: { 'x-auth-token': tok, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  const ms = performance.now() - t0;
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T, ms };
}

function must<T>(r: { status: number; body: T }, status: number, what: string): T {
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

const dataDir = mkdtempSync(join(tmpdir(), 'stacklet-bench-net-'));
const daemon = await start(dataDir, await freePort());
try {
  const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { adminPassword: string; demoPassword: string };
  const admin = await token(daemon.url, 'admin', secrets.adminPassword, 'admin');
  const demo = await token(daemon.url, 'demo', secrets.demoPassword, 'demo');
  const { url } = daemon;
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${PORTS} ports, ${SAMPLES} samples`);

  // --- create PORTS ports, then list them
  must(await call(url, admin, 'PUT', `/quotas/${await projectOf(demo)}`, { quota: { port: -1 } }), 200, 'quota');
  const net = must(await call<{ network: { id: string } }>(url, demo, 'POST', '/networks', { network: { name: 'bench' } }), 201, 'network').network;
  must(await call(url, demo, 'POST', '/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.200.0.0/20' } }), 201, 'subnet');
  const creates: number[] = [];
  const cpu0 = cpuMs(daemon.proc.pid);
  for (let i = 0; i < PORTS; i++) {
    const r = await call(url, demo, 'POST', '/ports', { port: { network_id: net.id, name: `bench-${i}` } });
    must(r, 201, 'port');
    creates.push(r.ms);
  }
  console.log(`create a port (HTTP, ${PORTS} on one network):     ${summary(creates)}   ${perRequest(daemon.proc.pid, cpu0, PORTS)}   target p50 <= 5 ms`);

  for (const [who, tok] of [['admin', admin], ['demo', demo]] as const) {
    const lists: number[] = [];
    let n = 0;
    const before = cpuMs(daemon.proc.pid);
    for (let i = 0; i < SAMPLES; i++) {
      const r = await call<{ ports: unknown[] }>(url, tok, 'GET', '/ports');
      n = must(r, 200, 'list').ports.length;
      lists.push(r.ms);
    }
    console.log(`list ${n} ports (HTTP, as ${who}):${' '.repeat(Math.max(1, 21 - who.length))}${summary(lists)}   ${perRequest(daemon.proc.pid, before, SAMPLES)}   target p50 <= 20 ms`);
  }
  const filtered: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const r = await call(url, demo, 'GET', `/ports?network_id=${net.id}&fixed_ips=ip_address%3D10.200.1.7`);
    must(r, 200, 'filtered list');
    filtered.push(r.ms);
  }
  console.log(`list with network_id + fixed_ips filters:         ${summary(filtered)}`);

  // --- a /16: first address vs last free address
  const big = must(await call<{ network: { id: string } }>(url, demo, 'POST', '/networks', { network: { name: 'big' } }), 201, 'network').network;
  const bigSub = must(
    await call<{ subnet: { id: string } }>(url, demo, 'POST', '/subnets', { subnet: { network_id: big.id, ip_version: 4, cidr: '10.100.0.0/16', enable_dhcp: false } }),
    201,
    'subnet /16',
  ).subnet;
  const cycle = async (): Promise<{ ms: number; ip: string }> => {
    const r = await call<{ port: { id: string; fixed_ips: { ip_address: string }[] } }>(url, demo, 'POST', '/ports', { port: { network_id: big.id } });
    const p = must(r, 201, 'port on /16').port;
    must(await call(url, demo, 'DELETE', `/ports/${p.id}`), 204, 'delete');
    return { ms: r.ms, ip: p.fixed_ips[0]?.ip_address ?? '' };
  };
  const first: number[] = [];
  let firstIp = '';
  const cpuFirst = cpuMs(daemon.proc.pid);
  for (let i = 0; i < SAMPLES; i++) {
    const c = await cycle();
    first.push(c.ms);
    firstIp = c.ip;
  }
  const firstCpu = perRequest(daemon.proc.pid, cpuFirst, SAMPLES);

  // Fill the pool but one address, straight in the store (the daemon keeps no IPAM cache).
  const holder = must(
    await call<{ port: { id: string } }>(url, demo, 'POST', '/ports', { port: { network_id: big.id, fixed_ips: [], name: 'holder' } }),
    201,
    'holder',
  ).port;
  const t0 = performance.now();
  const store = await openStore(join(dataDir, 'stacklet.db'));
  let filled = 0;
  await networkStoreOf(store.db).write(async (r) => {
    for (;;) {
      const free = await r.ipam.freeRanges(bigSub.id);
      const left = free.reduce((a, x) => a + (x.last - x.first + 1n), 0n);
      if (left <= 1n) break;
      const chunk = Math.min(Number(left - 1n), 5000);
      for (let i = 0; i < chunk; i++) {
        const ip = await r.ipam.takeLowest(bigSub.id, 4);
        if (!ip) break;
        await r.ipam.insertAllocation({ subnet_id: bigSub.id, ip_address: ip, port_id: holder.id, network_id: big.id });
        filled++;
      }
    }
  });
  console.log(`filled the /16 with ${filled} allocations in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const last: number[] = [];
  let lastIp = '';
  const cpuLast = cpuMs(daemon.proc.pid);
  for (let i = 0; i < SAMPLES; i++) {
    const c = await cycle();
    last.push(c.ms);
    lastIp = c.ip;
  }
  const lastCpu = perRequest(daemon.proc.pid, cpuLast, SAMPLES);
  const lastOne = await call<{ port: { id: string } }>(url, demo, 'POST', '/ports', { port: { network_id: big.id } });
  const exhausted = await call<{ NeutronError?: { type: string } }>(url, demo, 'POST', '/ports', { port: { network_id: big.id } });
  console.log(`port create+delete on an empty /16 (gets ${firstIp}):      create ${summary(first)}   ${firstCpu} (create+delete)`);
  console.log(`port create+delete, last free address of the /16 (${lastIp}): create ${summary(last)}   ${lastCpu} (create+delete)   ratio p50 ${f2(pct(last, 50) / pct(first, 50))}`);
  console.log(`then: taking the last address ${lastOne.status}, the next ${exhausted.status} ${exhausted.body.NeutronError?.type ?? ''}`);

  // The allocator alone, in this process on the same file: take the next free address and give it back.
  must(await call(url, demo, 'DELETE', `/ports/${lastOne.body.port.id}`), 204, 'free the last address');
  const empty = must(
    await call<{ subnet: { id: string } }>(url, demo, 'POST', '/subnets', { subnet: { network_id: big.id, ip_version: 4, cidr: '10.101.0.0/16', enable_dhcp: false } }),
    201,
    'empty /16',
  ).subnet;
  const ipamCycle = async (subnetId: string): Promise<number> => {
    const t = performance.now();
    await networkStoreOf(store.db).write(async (r) => {
      const ip = await r.ipam.takeLowest(subnetId, 4);
      if (!ip) throw new Error('pool unexpectedly empty');
      await r.ipam.insertAllocation({ subnet_id: subnetId, ip_address: ip, port_id: holder.id, network_id: big.id });
      await r.ipam.deleteAllocation(subnetId, ip);
      const v = ip.split('.').reduce((a, o) => (a << 8n) | BigInt(o), 0n);
      const pools = [{ first: v - (v & 0xffffn) + 2n, last: v - (v & 0xffffn) + 0xfffen }];
      await r.ipam.giveBack(subnetId, 4, v, pools);
    });
    return performance.now() - t;
  };
  const ipamFirst: number[] = [];
  const ipamLast: number[] = [];
  for (let i = 0; i < SAMPLES * 4; i++) {
    ipamFirst.push(await ipamCycle(empty.id));
    ipamLast.push(await ipamCycle(bigSub.id));
  }
  await store.close();
  console.log(`allocator (take + allocate + release, one transaction), empty /16:      ${summary(ipamFirst)}`);
  console.log(`allocator, /16 with one free address (65,532 allocated):                ${summary(ipamLast)}   ratio p50 ${f2(pct(ipamLast, 50) / pct(ipamFirst, 50))}`);
} finally {
  const gone = new Promise((r) => daemon.proc.once('exit', r));
  daemon.proc.kill('SIGTERM');
  await gone;
  rmSync(dataDir, { recursive: true, force: true });
}

async function projectOf(tok: string): Promise<string> {
  const r = await fetch(`${daemon.url}/identity/v3/auth/tokens`, { headers: { 'x-auth-token': tok, 'x-subject-token': tok } });
  const b = (await r.json()) as { token: { project: { id: string } } };
  return b.token.project.id;
}

/** Create and list through the app itself, without a socket: what the server spends per request. */
async function inProcess(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stacklet-bench-net-inject-'));
  // More ports than the default quota allows.
  process.env['STACKLET_QUOTA_PORT'] = '-1';
  // API only: the data plane would build bridges and namespaces in the machine's own namespace (no sandbox here), and the seed would build an image.
  const cloud = await startCloud(loadConfig({ dataDir: dir, listenHost: '127.0.0.1', listenPort: await freePort(), logLevel: 'warn', dataPlane: false, seed: false }), {
    logger: pino({ level: 'warn' }),
  });
  try {
    const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as { demoPassword: string };
    const auth = await cloud.app.inject({
      method: 'POST',
      url: '/identity/v3/auth/tokens',
      payload: { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { id: 'default' }, password: secrets.demoPassword } } }, scope: { project: { name: 'demo', domain: { id: 'default' } } } } },
    });
    const tok = String(auth.headers['x-subject-token'] ?? '');
    const inject = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
      const t = performance.now();
      const r = await cloud.app.inject({ method, url: `/network/v2.0${url}`, headers: { 'x-auth-token': tok }, ...(payload === undefined ? {} : { payload: payload as object }) });
      return { ms: performance.now() - t, status: r.statusCode, body: r.json<Record<string, { id: string }>>() };
    };
    const net = (await inject('POST', '/networks', { network: { name: 'inj' } })).body['network']?.id ?? '';
    await inject('POST', '/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.210.0.0/20' } });
    const creates: number[] = [];
    for (let i = 0; i < PORTS; i++) {
      const r = await inject('POST', '/ports', { port: { network_id: net } });
      if (r.status !== 201) throw new Error(`inject create: ${r.status}`);
      creates.push(r.ms);
    }
    const lists: number[] = [];
    for (let i = 0; i < SAMPLES; i++) lists.push((await inject('GET', '/ports')).ms);
    console.log(`in-process create a port (inject):               ${summary(creates)}   target p50 <= 5 ms`);
    console.log(`in-process list ${PORTS + 1} ports (inject, as demo):     ${summary(lists)}   target p50 <= 20 ms`);
  } finally {
    await cloud.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await inProcess();
