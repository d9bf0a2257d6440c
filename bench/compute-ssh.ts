import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { buildConfigDrive } from '../src/host/compute/qemu/config-drive.js';
import { killHard } from '../src/host/compute/qemu/process.js';
import { buildTinyGuest, tinyGuestQemuArgs } from '../src/host/image/tiny/index.js';
import { TestCloud } from '../test/helpers/cloud.js';
import { tearDownSandboxCloud, TINY_CACHE } from '../test/helpers/sandbox.js';
import { TestNet } from '../test/integration/qemu-fixture.js';
import { sshProbe } from './ssh-probe.js';

/**
 * Until SSH answers: Stacklet against plain QEMU, same image, same machine
 * (run by hand as root):
 *
 *   node dist/bench/compute-ssh.js [count=20] [--rss 50]
 *
 * 1. Plain QEMU: the tiny guest's disk image on q35 (what the seed's cirros
 *    is), a config drive with the key, a tap on a bridge with dnsmasq in a
 *    namespace (prefix slsp): spawn → SSH banner, for one guest and for
 *    `count` at once.
 * 2. Stacklet: a seeded sandbox cloud (prefix slsc); ports made beforehand,
 *    each with a floating IP: POST /servers with the port → SSH banner on
 *    the floating IP, probed from the sandbox namespace; one, then `count`
 *    at once. The guest learns its key from the metadata service, through
 *    the router: part of what is measured.
 * 3. --rss N: N servers running; the daemon's RSS.
 *
 * Targets (#6): one server ≤ plain + 0.5 s; `count` at once ≤ 1.2 × plain;
 * daemon RSS with 50 servers ≤ 150 MB.
 */

const COUNT = Number(process.argv[2] ?? 20);
const rssAt = process.argv.indexOf('--rss');
const RSS_COUNT = rssAt > 0 ? Number(process.argv[rssAt + 1] ?? 50) : 0;
const MEM_MIB = 128;
/** Single-guest boots per side: one boot under TCG varies by ±0.5 s, so the median of several is quoted. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

/** One side of the comparison: boots guests and times them until SSH answers. */
interface Side {
  /** ms from the start call to the SSH banner of one guest (the guest is stopped after). */
  one(): Promise<number>;
  /** ms from the first start call until all `count` guests answer SSH, and until all were ACTIVE (Stacklet). */
  burst(): Promise<{ all: number; active?: number }>;
  close(): Promise<void>;
}

async function plainSide(count: number): Promise<Side> {
  const work = await mkdtemp('/tmp/slsp-');
  const n = await TestNet.create('slsp', join(work, 'net'), count + 1, '10.78.0');
  const g = await buildTinyGuest({ cacheDir: TINY_CACHE });
  const procs: ChildProcess[] = [];
  // The config drives are made before the clock starts (Stacklet makes one only when asked for).
  const drives: string[] = [];
  for (let i = 0; i <= count; i++) {
    const iso = join(work, `cd-${i}.iso`);
    await buildConfigDrive({ 'openstack/latest/meta_data.json': JSON.stringify({ uuid: `plain-${i}`, hostname: `plain${i}`, public_keys: { k: n.publicKey } }) }, iso, work);
    drives.push(iso);
  }
  const boot = (i: number): void => {
    const slot = n.slot(i);
    const args = tinyGuestQemuArgs(g, { packaging: 'disk', tap: slot.tap, mac: slot.mac, serialLog: join(work, `serial-${i}.log`), memoryMiB: MEM_MIB, extraDisks: [{ path: drives[i] ?? '', format: 'raw' }] });
    procs.push(spawn('ip', ['netns', 'exec', n.ns, 'qemu-system-x86_64', ...args], { stdio: 'ignore' }));
  };
  const stopAll = async () => {
    for (const p of procs.splice(0)) if (p.pid !== undefined) await killHard(p.pid);
  };
  return {
    async one() {
      const probe = sshProbe(n.ns, [n.slot(0).ip], 300_000);
      await probe.ready;
      const t0 = Date.now();
      boot(0);
      const ms = (await probe.bannerAt(n.slot(0).ip)) - t0;
      await stopAll();
      return ms;
    },
    async burst() {
      const ips = Array.from({ length: count }, (_, i) => n.slot(i + 1).ip);
      const probe = sshProbe(n.ns, ips, 900_000);
      await probe.ready;
      const t0 = Date.now();
      ips.forEach((_, i) => boot(i + 1));
      const all = Math.max(...(await Promise.all(ips.map((ip) => probe.bannerAt(ip))))) - t0;
      await stopAll();
      return { all };
    },
    async close() {
      await stopAll();
      await n.destroy();
      await rm(work, { recursive: true, force: true });
    },
  };
}

const CLOUD_PREFIX = 'slsc';

async function stackletSide(count: number, rssCount: number): Promise<Side & { rss(): Promise<{ servers: number; mb: number; idleMb: number } | undefined> }> {
  const sandbox = `${CLOUD_PREFIX}-sbx-${process.pid}`;
  let c: TestCloud | undefined;
  try {
    c = await TestCloud.start({
      seed: true,
      args: ['--sandbox', sandbox, '--host-prefix', CLOUD_PREFIX],
      env: {
        STACKLET_TINY_CACHE: TINY_CACHE,
        STACKLET_QUOTA_INSTANCES: '200',
        STACKLET_QUOTA_CORES: '200',
        STACKLET_QUOTA_RAM: '1000000',
        STACKLET_QUOTA_PORT: '300',
        STACKLET_QUOTA_FLOATINGIP: '200',
        STACKLET_CPU_ALLOCATION_RATIO: '100',
        STACKLET_LOG_LEVEL: 'warn',
      },
    });
  } catch (err) {
    await tearDownSandboxCloud(c, CLOUD_PREFIX);
    throw err;
  }
  const cloud = c;
  const token = await cloud.token('demo');
  const get = async <T>(path: string) => (await cloud.api<T>('GET', path, { token })).body;
  let image = (await get<{ images: { id: string; status: string }[] }>('/image/v2/images?name=cirros')).images[0];
  for (let i = 0; i < 900 && image?.status !== 'active'; i++, await sleep(1000)) image = (await get<{ images: { id: string; status: string }[] }>('/image/v2/images?name=cirros')).images[0];
  const net = (await get<{ networks: { id: string }[] }>('/network/v2.0/networks?name=private')).networks[0];
  const pub = (await get<{ networks: { id: string }[] }>('/network/v2.0/networks?name=public')).networks[0];
  if (!image || !net || !pub) throw new Error('the seed has no cirros, private or public');
  const imageId = image.id;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(cloud.dataDir, 'bench-key')]);
  const pubKey = await readFile(join(cloud.dataDir, 'bench-key.pub'), 'utf8');
  const kp = await cloud.api('POST', '/compute/v2.1/os-keypairs', { token, body: { keypair: { name: 'bench', public_key: pubKey.trim() } } });
  if (kp.status !== 200) throw new Error(`keypair: ${kp.status} ${kp.text}`);

  /** A port with a floating IP, made before the clock starts (as `server create --port` users do). */
  const portWithFip = async (i: number): Promise<{ port: string; fip: string }> => {
    const p = await cloud.api<{ port: { id: string } }>('POST', '/network/v2.0/ports', { token, body: { port: { network_id: net.id, name: `bench-${i}` } } });
    if (p.status !== 201) throw new Error(`port: ${p.status} ${p.text}`);
    const f = await cloud.api<{ floatingip: { floating_ip_address: string } }>('POST', '/network/v2.0/floatingips', {
      token,
      body: { floatingip: { floating_network_id: pub.id, port_id: p.body.port.id } },
    });
    if (f.status !== 201) throw new Error(`floating IP: ${f.status} ${f.text}`);
    return { port: p.body.port.id, fip: f.body.floatingip.floating_ip_address };
  };
  const create = async (name: string, network: { port: string } | { uuid: string }): Promise<string> => {
    const r = await cloud.api<{ server: { id: string } }>('POST', '/compute/v2.1/servers', {
      token,
      body: { server: { name, imageRef: imageId, flavorRef: '42', key_name: 'bench', networks: [network] } },
    });
    if (r.status !== 202) throw new Error(`create ${name}: ${r.status} ${r.text}`);
    return r.body.server.id;
  };
  /** Resolves with Date.now() when every id is ACTIVE (one list call every 100 ms). */
  const allActive = async (ids: string[]): Promise<number> => {
    for (const deadline = Date.now() + 900_000; Date.now() < deadline; await sleep(100)) {
      const list = (await get<{ servers: { id: string; status: string }[] }>('/compute/v2.1/servers/detail')).servers.filter((s) => ids.includes(s.id));
      if (list.some((s) => s.status === 'ERROR')) throw new Error('a server went ERROR');
      if (list.length === ids.length && list.every((s) => s.status === 'ACTIVE')) return Date.now();
    }
    throw new Error('servers not ACTIVE after 15 min');
  };
  const deleteAll = async (ids: string[]) => {
    for (const id of ids) await cloud.api('DELETE', `/compute/v2.1/servers/${id}`, { token });
    for (const id of ids) while ((await cloud.api('GET', `/compute/v2.1/servers/${id}`, { token })).status !== 404) await sleep(200);
  };

  const ports: { port: string; fip: string }[] = [];
  for (let i = 0; i <= count; i++) ports.push(await portWithFip(i));
  await sleep(3000); // the floating IPs reach the router
  let burstIds: string[] = [];
  return {
    async one() {
      const p0 = ports[0];
      if (!p0) throw new Error('no port');
      const probe = sshProbe(sandbox, [p0.fip], 300_000);
      await probe.ready;
      const t0 = Date.now();
      const id = await create('one', { port: p0.port });
      const ms = (await probe.bannerAt(p0.fip)) - t0;
      // BENCH_CONSOLE=1 shows the guest's console, to see where its boot differs from plain QEMU's.
      if (process.env.BENCH_CONSOLE) {
        const log = await cloud.api<{ output: string }>('POST', `/compute/v2.1/servers/${id}/action`, { token, body: { 'os-getConsoleOutput': {} } });
        console.log(`--- Stacklet console\n${log.body.output}`);
      }
      await deleteAll([id]);
      return ms;
    },
    async burst() {
      const rest = ports.slice(1);
      const probe = sshProbe(sandbox, rest.map((p) => p.fip), 900_000);
      await probe.ready;
      const t0 = Date.now();
      burstIds = await Promise.all(rest.map((p, i) => create(`burst-${i}`, { port: p.port })));
      const active = (await allActive(burstIds)) - t0;
      const all = Math.max(...(await Promise.all(rest.map((p) => probe.bannerAt(p.fip))))) - t0;
      if (rssCount === 0) await deleteAll(burstIds.splice(0));
      return { all, active };
    },
    /** After burst(): more servers up to rssCount, then the daemon's RSS. */
    async rss() {
      if (rssCount === 0) return undefined;
      const pid = cloud.proc?.pid ?? 0;
      const rss = async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      const more: string[] = [];
      for (let i = burstIds.length; i < rssCount; i++) more.push(await create(`rss-${i}`, { uuid: net.id }));
      const ids = [...burstIds, ...more];
      await allActive(ids);
      // A few list calls and a resync's worth of idle, as someone with a dashboard open would cause.
      for (let i = 0; i < 20; i++) await get('/compute/v2.1/servers/detail');
      const mb = await rss();
      await sleep(65_000);
      const out = { servers: ids.length, mb, idleMb: await rss() };
      await deleteAll(ids);
      burstIds = [];
      return out;
    },
    async close() {
      await tearDownSandboxCloud(cloud, CLOUD_PREFIX);
    },
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (namespaces, taps, QEMU)');
  console.log(`load average at start: ${await load()} on ${availableParallelism()} CPUs; tiny guest on q35 (disk), ${MEM_MIB} MiB, TCG`);
  let plain: Side | undefined;
  let cloud: Awaited<ReturnType<typeof stackletSide>> | undefined;
  try {
    plain = await plainSide(COUNT);
    cloud = await stackletSide(COUNT, RSS_COUNT);
    // Alternating, so both sides see the same machine (its speed drifts by a second over minutes).
    const p: number[] = [];
    const s: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      p.push(await plain.one());
      s.push(await cloud.one());
    }
    console.log(`one guest → SSH banner: plain QEMU median ${median(p)} ms (${p.join(', ')}); Stacklet server create median ${median(s)} ms (${s.join(', ')})`);
    console.log(`  overhead ${median(s) - median(p)} ms (target ≤ 500 ms)`);
    const pb = await plain.burst();
    await sleep(5000);
    const sb = await cloud.burst();
    console.log(`${COUNT} at once → all SSH: plain QEMU ${pb.all} ms; Stacklet ${sb.all} ms (all ACTIVE ${String(sb.active)} ms): ${(sb.all / pb.all).toFixed(2)} × plain (target ≤ 1.2)`);
    const rss = await cloud.rss();
    if (rss) console.log(`Stacklet daemon RSS with ${rss.servers} servers running: ${rss.mb.toFixed(1)} MB after list calls, ${rss.idleMb.toFixed(1)} MB a resync later (target ≤ 150 MB)`);
    console.log(`load average at end: ${await load()}`);
  } finally {
    await plain?.close();
    await cloud?.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
