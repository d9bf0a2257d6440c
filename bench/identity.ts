import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../src/daemon/runtime.js';
import { freePort, MAIN } from '../test/helpers/cloud.js';
import { startDaemon, type BenchDaemon } from './daemon.js';

/**
 * Identity figures, run by hand after a build:
 *
 *   node dist/bench/identity.js            (BENCH_SECONDS=10 BENCH_CONNECTIONS=32 BENCH_LOG_LEVEL=info)
 *
 * - authenticated requests per second on loopback (token validation + a small list), with wrk
 *   (target >= 5,000 req/s on a 2-core machine)
 * - token issue latency against the bare scrypt cost (target: hash + <= 5 ms)
 * - idle RSS of the daemon after start and a few requests (target <= 80 MB)
 * - start-up to healthy on an existing data dir, median of 5 (target <= 1 s)
 *
 * The daemon runs as `stacklet up` does, at the log level it ships with (info).
 */

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const LOG_LEVEL = process.env['BENCH_LOG_LEVEL'] ?? 'info';
/**
 * The daemon starts as `stacklet up --detach` starts it (DAEMON_NODE_FLAGS, DAEMON_ENV);
 * BENCH_UNTUNED=1 starts it as plain `node main.js up`, BENCH_NODE_FLAGS adds flags.
 */
const UNTUNED = process.env['BENCH_UNTUNED'] === '1';
const NODE_FLAGS = [...(UNTUNED ? [] : DAEMON_NODE_FLAGS), ...(process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean)];
/** The API alone: the bench measures identity, not the data plane or the first-start seed (BENCH_UP_ARGS overrides, e.g. for older builds). */
const UP_ARGS = (process.env['BENCH_UP_ARGS'] ?? '--no-data-plane --no-seed').split(' ').filter(Boolean);
/** What bin/stacklet starts (the bundle when current, see MAIN); BENCH_MAIN=dist/src/cli/main.js for the ES modules. */
const ENTRY = process.env['BENCH_MAIN'] ?? MAIN;
const NODE_ENV_EXTRA: Record<string, string> = UNTUNED ? {} : { ...DAEMON_ENV };

interface Daemon extends BenchDaemon {
  /** CPU time (user + system) the daemon had used when it first answered healthy. */
  cpuMsToHealthy: number;
}

/** CPU time (user + system, ms) a process has used so far, from /proc. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
const f1 = (n: number) => n.toFixed(1);

async function start(dataDir: string, port: number): Promise<Daemon> {
  const args = [...NODE_FLAGS, ENTRY, 'up', ...UP_ARGS, '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`];
  const d = await startDaemon(args, port, { ...NODE_ENV_EXTRA, STACKLET_LOG_LEVEL: LOG_LEVEL }, 5);
  return { ...d, cpuMsToHealthy: cpuMs(d.proc.pid ?? 0) };
}

/**
 * Waits until the daemon is idle: after start it still compiles request
 * validators and (from 3 s on) compresses the dashboard in the background,
 * which would be counted against the first measurements. Idle = under 2% of
 * a core for two seconds in a row, no sooner than 6 s after start.
 */
async function settle(pid: number, maxMs = 60_000): Promise<void> {
  const until = Date.now() + maxMs;
  await new Promise((r) => setTimeout(r, 6000));
  let quiet = 0;
  while (Date.now() < until && quiet < 2) {
    const c0 = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    quiet = cpuMs(pid) - c0 < 20 ? quiet + 1 : 0;
  }
}

async function stop(d: Daemon): Promise<void> {
  if (d.proc.exitCode !== null) return;
  const gone = new Promise((r) => d.proc.once('exit', r));
  d.proc.kill('SIGTERM');
  await gone;
}

async function token(url: string, user: string, password: string, project: string): Promise<{ token: string; ms: number }> {
  const body = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
      scope: { project: { name: project, domain: { id: 'default' } } },
    },
  });
  const t0 = performance.now();
  const r = await fetch(`${url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await r.arrayBuffer();
  const ms = performance.now() - t0;
  const t = r.headers.get('x-subject-token');
  if (r.status !== 201 || !t) throw new Error(`token for ${user}: ${r.status}`);
  return { token: t, ms };
}

/**
 * A process that hashes on demand, started with the daemon's own node flags
 * and allocator settings, so "the bare hash" costs what it costs in the
 * daemon (a fixed mmap threshold, for one, makes every hash map fresh memory).
 */
class Hasher {
  private proc: ChildProcess;
  private waiting: ((ms: number) => void)[] = [];
  private buf = '';

  constructor() {
    const script = `
      const { scrypt, randomBytes } = require('node:crypto');
      const salt = randomBytes(16);
      process.stdin.on('data', () => {
        const t0 = performance.now();
        scrypt('a-password-of-usual-length', salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (e) => {
          process.stdout.write((e ? -1 : performance.now() - t0) + '\\n');
        });
      });`;
    this.proc = spawn(process.execPath, [...NODE_FLAGS, '-e', script], { env: { ...NODE_ENV_EXTRA, ...process.env }, stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const ms = Number(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 1);
        this.waiting.shift()?.(ms);
      }
    });
  }

  hash(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push((ms) => (ms < 0 ? reject(new Error('scrypt failed')) : resolve(ms)));
      this.proc.stdin?.write('go\n');
    });
  }

  close(): void {
    this.proc.stdin?.end();
  }
}

/** Private (anonymous) and file-backed resident memory of one process, MB. */
function rssSplitMb(pid: number): { anon: number; file: number } {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(st)?.[1] ?? NaN);
    return { anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
  } catch {
    return { anon: NaN, file: NaN };
  }
}

/** RSS in MB of a process and every process below it. */
function treeRssMb(pid: number): number {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  let kb = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop() as number;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
    stack.push(...(kids.get(p) ?? []));
  }
  return kb / 1024;
}

interface WrkResult {
  rps: number;
  requests: number;
  /** Daemon CPU time per request, µs: what one core can serve is 1e6 / this, however busy the machine is. */
  cpuUsPerReq: number;
  p50: string;
  p99: string;
  non2xx: number;
  errors: string;
}

function wrk(url: string, tokenValue: string, pid: number, seconds = SECONDS): Promise<WrkResult> {
  const cpu0 = cpuMs(pid);
  return new Promise((resolve, reject) => {
    execFile(
      'wrk',
      ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-H', `X-Auth-Token: ${tokenValue}`, url],
      { timeout: (seconds + 30) * 1000 },
      (err, stdout) => {
        if (err) return reject(new Error(`wrk failed (${err.message}); install it: apt-get install -y wrk`));
        const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
        const requests = num(/(\d+) requests in/);
        resolve({
          rps: num(/Requests\/sec:\s+([\d.]+)/),
          requests,
          cpuUsPerReq: ((cpuMs(pid) - cpu0) * 1000) / requests,
          p50: /^\s+50%\s+(\S+)/m.exec(stdout)?.[1] ?? '?',
          p99: /^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? '?',
          non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
          errors: /Socket errors:.*/.exec(stdout)?.[0] ?? '',
        });
      },
    );
  });
}

function line(name: string, value: string, target: string, ok: boolean): void {
  process.stdout.write(`${name.padEnd(44)} ${value.padEnd(30)} target ${target.padEnd(18)} ${ok ? 'ok' : 'MISSED'}\n`);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'stacklet-bench-'));
  const port = await freePort();
  process.stdout.write(`stacklet identity bench — node ${process.version} ${NODE_FLAGS.join(' ')}${UNTUNED ? ' (untuned)' : ' + glibc malloc tuning'}, log level ${LOG_LEVEL}, load average before ${loadavg().map(f1).join(' ')}\n\n`);
  try {
    const first = await start(dataDir, port);
    const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { adminPassword: string; demoPassword: string };
    await stop(first);

    // Start-up to healthy on the existing data dir.
    const starts: number[] = [];
    const cpuStarts: number[] = [];
    let d: Daemon | undefined;
    for (let i = 0; i < 5; i++) {
      d = await start(dataDir, port);
      starts.push(d.msToHealthy);
      cpuStarts.push(d.cpuMsToHealthy);
      if (i < 4) await stop(d);
    }
    if (!d) throw new Error('no daemon');
    const daemon = d;
    const pid = daemon.proc.pid ?? 0;

    // A few requests, then idle RSS.
    const admin = await token(daemon.url, 'admin', secrets.adminPassword, 'admin');
    const demo = await token(daemon.url, 'demo', secrets.demoPassword, 'demo');
    for (const [path, t] of [['/identity/v3/projects?name=demo', admin.token], ['/identity/v3/auth/projects', demo.token], ['/identity/v3/users', admin.token]] as const) {
      await (await fetch(`${daemon.url}${path}`, { headers: { 'x-auth-token': t } })).arrayBuffer();
    }
    await settle(pid);
    const idleRss = treeRssMb(pid);
    const idleSplit = rssSplitMb(pid);

    // Token issue latency against the bare hash it must pay, measured in
    // alternation so that both see the same machine load.
    const hasher = new Hasher();
    const bareScrypt = () => hasher.hash();
    for (let i = 0; i < 5; i++) {
      await bareScrypt();
      await token(daemon.url, 'demo', secrets.demoPassword, 'demo');
    }
    const hashes: number[] = [];
    const issues: number[] = [];
    const diffs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const h = await bareScrypt();
      const t = (await token(daemon.url, 'demo', secrets.demoPassword, 'demo')).ms;
      hashes.push(h);
      issues.push(t);
      diffs.push(t - h);
    }
    const overhead = median(diffs);
    hasher.close();
    // The same issue path without the hash: a token made from a token.
    const rescopes: number[] = [];
    const rescopeBody = JSON.stringify({ auth: { identity: { methods: ['token'], token: { id: demo.token } }, scope: { project: { name: 'demo', domain: { id: 'default' } } } } });
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const r = await fetch(`${daemon.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: rescopeBody });
      await r.arrayBuffer();
      if (r.status !== 201) throw new Error(`rescope: ${r.status}`);
      if (i >= 10) rescopes.push(performance.now() - t0);
    }

    // Throughput.
    // Warm up (JIT) each route before measuring it.
    const WARM = 2;
    await wrk(`${daemon.url}/identity/v3/projects?name=demo`, admin.token, pid, WARM);
    await wrk(`${daemon.url}/identity/v3/auth/projects`, demo.token, pid, WARM);
    const lists = await wrk(`${daemon.url}/identity/v3/projects?name=demo`, admin.token, pid);
    const mine = await wrk(`${daemon.url}/identity/v3/auth/projects`, demo.token, pid);
    const loadedRss = treeRssMb(pid);
    await stop(daemon);

    process.stdout.write('\n');
    line('GET /v3/projects?name=demo (admin token)', `${Math.round(lists.rps)} req/s, p50 ${lists.p50} p99 ${lists.p99}`, '>= 5000 req/s', lists.rps >= 5000 && lists.non2xx === 0);
    line('GET /v3/auth/projects (demo token)', `${Math.round(mine.rps)} req/s, p50 ${mine.p50} p99 ${mine.p99}`, '>= 5000 req/s', mine.rps >= 5000 && mine.non2xx === 0);
    line('  daemon CPU per request (both runs)', `${f1(lists.cpuUsPerReq)} / ${f1(mine.cpuUsPerReq)} µs`, '<= 200 µs', Math.max(lists.cpuUsPerReq, mine.cpuUsPerReq) <= 200);
    if (lists.non2xx || mine.non2xx) process.stdout.write(`  non-2xx answers: ${lists.non2xx} / ${mine.non2xx} (a broken run)\n`);
    if (lists.errors || mine.errors) process.stdout.write(`  ${lists.errors} ${mine.errors}\n`);
    line('bare scrypt N=2^14 r=8 p=1, daemon settings', `${f1(median(hashes))} ms (p90 ${f1(pct(hashes, 90))})`, '-', true);
    line('token issue over HTTP (median of 30)', `${f1(median(issues))} ms (p90 ${f1(pct(issues, 90))})`, '-', true);
    line('token issue minus the hash (median of pairs)', `${f1(overhead)} ms`, '<= 5 ms', overhead <= 5);
    line('  the issue path without a hash (token method)', `${f1(median(rescopes))} ms (p90 ${f1(pct(rescopes, 90))})`, '<= 5 ms', median(rescopes) <= 5);
    line('idle RSS after start and a few requests', `${f1(idleRss)} MB`, '<= 80 MB', idleRss <= 80);
    line('  of which private / file-backed (node binary)', `${f1(idleSplit.anon)} / ${f1(idleSplit.file)} MB`, '-', true);
    line('RSS right after the load runs', `${f1(loadedRss)} MB`, '-', true);
    line('start-up to healthy, existing data dir', `median ${Math.round(median(starts))} ms (${starts.map(Math.round).join(', ')})`, '<= 1000 ms', median(starts) <= 1000);
    line('  CPU time to healthy (median)', `${Math.round(median(cpuStarts))} ms`, '-', true);
    line('first start (bootstrap, hashes two passwords)', `${Math.round(first.msToHealthy)} ms`, '-', true);
    process.stdout.write(`\nload average after ${loadavg().map(f1).join(' ')} (figures from a busy machine are low)\n`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
