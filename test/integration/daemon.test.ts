import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, MAIN, type CliResult } from '../helpers/cloud.js';

/**
 * The `stacklet` command as a person runs it: up --detach, status,
 * clouds-yaml, openrc, down, and the errors that must be clear (port in
 * use, data dir not writable, a second up on the same data dir).
 */

/** These tests exercise the daemon and its CLI, never the host: no data plane outside a sandbox. */
const NO_HOST = { STACKLET_DATA_PLANE: '0', STACKLET_SEED: '0' };

function stacklet(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, ...NO_HOST, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function openstack(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('openstack', args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses `export NAME='value'` lines as a POSIX shell would. */
function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2] ?? '';
    if (v.startsWith("'")) v = v.slice(1, -1).replaceAll("'\\''", "'");
    out[m[1] ?? ''] = v;
  }
  return out;
}

function pidOf(dataDir: string): number | undefined {
  const f = join(dataDir, 'stacklet.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const dirs: string[] = [];
const started: number[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'stacklet-daemon-'));
  dirs.push(d);
  return d;
}

after(() => {
  // Whatever a failed test left running, by the pid its own data dir names.
  for (const d of dirs) {
    const pid = pidOf(d);
    if (pid !== undefined && alive(pid)) started.push(pid);
  }
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('up --detach, status, clouds-yaml, openrc, down', () => {
  let dataDir = '';
  let port = 0;
  let flags: string[] = [];
  let pid = 0;

  before(async () => {
    dataDir = tempDir();
    port = await freePort();
    flags = ['--data-dir', dataDir];
  });

  test('up --detach prints progress, the API URL and the clouds.yaml path, and returns once healthy', async () => {
    const t0 = Date.now();
    const r = await stacklet(['up', '--detach', ...flags, '--listen', `127.0.0.1:${port}`]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const lines = r.stdout.split('\n');
    assert.ok(lines.some((l) => /^\[\s*\d+ ms\] data dir /.test(l)), r.stdout);
    assert.ok(lines.some((l) => /^\[\s*\d+ ms\] opening the store/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /^\[\s*\d+ ms\] healthy: API at /.test(l)), r.stdout);
    assert.ok(r.stdout.includes(`http://127.0.0.1:${port}`), 'names the API URL');
    assert.ok(r.stdout.includes(join(dataDir, 'clouds.yaml')), 'names where clouds.yaml is');
    assert.match(r.stdout, /running in the background as pid \d+/);
    assert.ok(!r.stdout.includes('STACKLET-READY'), 'the internal handshake line is not shown');
    const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { adminPassword: string; demoPassword: string };
    assert.ok(!r.stdout.includes(secrets.adminPassword), 'no password on the screen');

    // Healthy the moment it returns.
    const h = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(h.status, 200);
    const found = pidOf(dataDir);
    assert.ok(found !== undefined && alive(found));
    pid = found;
    started.push(pid);
    assert.ok(r.stdout.includes(`pid ${pid}`));
    assert.ok(Date.now() - t0 < 30_000);
  });

  test('status reports it running and healthy, with its services', async () => {
    const r = await stacklet(['status', ...flags]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`running, pid ${pid}`));
    assert.match(r.stdout, new RegExp(`http://127\\.0\\.0\\.1:${port} healthy`));
    assert.match(r.stdout, /identity\s+http:\/\/127\.0\.0\.1:\d+\/identity/);
  });

  test('clouds-yaml prints the stacklet and stacklet-admin clouds and writes them to the data dir', async () => {
    const file = join(dataDir, 'clouds.yaml');
    rmSync(file, { force: true });
    const r = await stacklet(['clouds-yaml', ...flags]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^clouds:$/m);
    assert.match(r.stdout, /^ {2}stacklet:$/m);
    assert.match(r.stdout, /^ {2}stacklet-admin:$/m);
    assert.ok(r.stdout.includes(`auth_url: "http://127.0.0.1:${port}/identity"`));
    assert.equal(readFileSync(file, 'utf8').trim(), r.stdout.trim());
    for (const cloud of ['stacklet', 'stacklet-admin']) {
      const t = await openstack(['token', 'issue', '-f', 'json'], { OS_CLIENT_CONFIG_FILE: file, OS_CLOUD: cloud });
      assert.equal(t.code, 0, t.stderr);
    }
  });

  test('openrc admin prints OS_* variables that work with openstack token issue', async () => {
    const r = await stacklet(['openrc', 'admin', ...flags]);
    assert.equal(r.code, 0, r.stderr);
    const env = parseExports(r.stdout);
    for (const k of ['OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME', 'OS_USER_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_NAME', 'OS_IDENTITY_API_VERSION']) {
      assert.ok(env[k], `${k} missing in:\n${r.stdout}`);
    }
    assert.equal(env['OS_USERNAME'], 'admin');
    const t = await openstack(['token', 'issue', '-f', 'json'], env);
    assert.equal(t.code, 0, t.stderr);
    const users = await openstack(['user', 'list', '-f', 'value', '-c', 'Name'], env);
    assert.equal(users.code, 0, users.stderr);
    assert.deepEqual(users.stdout.trim().split('\n').sort(), ['admin', 'demo']);

    const demo = parseExports((await stacklet(['openrc', 'demo', ...flags])).stdout);
    assert.equal(demo['OS_USERNAME'], 'demo');
    assert.equal((await openstack(['token', 'issue'], demo)).code, 0);
    const bad = await stacklet(['openrc', 'root', ...flags]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /admin or demo/);
  });

  test('a second up on the same data dir is refused, naming the running pid', async () => {
    const other = await freePort();
    for (const extra of [[], ['--detach']]) {
      const r = await stacklet(['up', ...extra, ...flags, '--listen', `127.0.0.1:${other}`]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`already runs for ${dataDir.replaceAll('/', '\\/')} \\(pid ${pid}\\)`));
      assert.match(r.stderr, /stacklet down/);
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the first one is unharmed');
  });

  test('down stops it; status then says not running', async () => {
    const r = await stacklet(['down', ...flags]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`pid ${pid}\\) stopped`));
    assert.equal(alive(pid), false);
    assert.equal(existsSync(join(dataDir, 'stacklet.pid')), false);
    assert.equal(existsSync(join(dataDir, 'state.json')), false);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    const s = await stacklet(['status', ...flags]);
    assert.equal(s.code, 3);
    assert.match(s.stdout, /not running/);
    const again = await stacklet(['down', ...flags]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /not running/);

    // The daemon's log and its captured output never hold the passwords the CLI hands out.
    const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { adminPassword: string; demoPassword: string };
    for (const f of ['stacklet.log', 'stacklet.out']) {
      const text = readFileSync(join(dataDir, f), 'utf8');
      if (f === 'stacklet.log') assert.ok(text.length > 0, 'the log was written');
      assert.ok(!text.includes(secrets.adminPassword) && !text.includes(secrets.demoPassword), `${f} holds a password`);
    }
  });

  test('up again on the same data dir keeps the passwords and the cloud', async () => {
    const before1 = readFileSync(join(dataDir, 'secrets.json'), 'utf8');
    const r = await stacklet(['up', '--detach', ...flags, '--listen', `127.0.0.1:${port}`]);
    assert.equal(r.code, 0, r.stderr);
    const p = pidOf(dataDir);
    assert.ok(p);
    started.push(p);
    assert.ok(!/created domain Default/.test(r.stdout), 'bootstrap does not run twice');
    assert.equal(readFileSync(join(dataDir, 'secrets.json'), 'utf8'), before1);
    const env = parseExports((await stacklet(['openrc', 'admin', ...flags])).stdout);
    assert.equal((await openstack(['token', 'issue'], env)).code, 0);
    assert.equal((await stacklet(['down', ...flags])).code, 0);
  });
});

describe('clear errors', () => {
  let holder: Server;
  let held = 0;

  before(async () => {
    held = await freePort();
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(held, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  });

  test('a port in use: exit code 2 and a message naming the port, in the foreground and detached', async () => {
    for (const extra of [[], ['--detach']]) {
      const dataDir = tempDir();
      const r = await stacklet(['up', ...extra, '--data-dir', dataDir, '--listen', `127.0.0.1:${held}`]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`port ${held}`));
      assert.match(r.stderr, /--listen/);
      assert.ok(!/unexpected error|at .*\.js:\d+/.test(r.stderr), `no stack trace: ${r.stderr}`);
      assert.equal(existsSync(join(dataDir, 'stacklet.pid')), false, 'no pid file left behind');
      assert.equal((await stacklet(['status', '--data-dir', dataDir])).code, 3);
    }
  });

  test('a data dir that cannot be made (a path under a regular file): exit code 2, names the dir', async () => {
    const parent = tempDir();
    const file = join(parent, 'a-file');
    writeFileSync(file, 'not a directory');
    const dataDir = join(file, 'data');
    for (const extra of [[], ['--detach']]) {
      const r = await stacklet(['up', ...extra, '--data-dir', dataDir, '--listen', `127.0.0.1:${await freePort()}`]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.includes(dataDir), r.stderr);
      assert.match(r.stderr, /not writable|cannot/i);
      assert.ok(!/unexpected error/.test(r.stderr), r.stderr);
    }
  });

  test('two ups started together on one data dir: exactly one runs, the other exits 2', async () => {
    const dataDir = tempDir();
    const ports = [await freePort(), await freePort()];
    const procs = ports.map((p) => spawn(process.execPath, [MAIN, 'up', '--data-dir', dataDir, '--listen', `127.0.0.1:${p}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...NO_HOST } }));
    for (const p of procs) if (p.pid !== undefined) started.push(p.pid);
    const stderr = ['', ''];
    procs.forEach((p, i) => p.stderr?.on('data', (d: Buffer) => (stderr[i] += d.toString())));
    const exited = await Promise.race(procs.map((p, i) => new Promise<[number, number | null]>((resolve) => p.once('exit', (code) => resolve([i, code])))));
    const [loser, code] = exited;
    assert.equal(code, 2, stderr[loser]);
    assert.match(stderr[loser] ?? '', /already runs|is starting/);
    const winner = 1 - loser;
    const deadline = Date.now() + 30_000;
    let healthy = false;
    while (!healthy && Date.now() < deadline) {
      healthy = (await fetch(`http://127.0.0.1:${ports[winner]}/healthz`).catch(() => undefined))?.status === 200;
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(healthy, `the other one runs: ${stderr[winner]}`);
    assert.equal(pidOf(dataDir), procs[winner]?.pid);
    const gone = new Promise((resolve) => procs[winner]?.once('exit', resolve));
    procs[winner]?.kill('SIGTERM');
    await gone;
    assert.equal(existsSync(join(dataDir, 'stacklet.pid')), false);
  });

  test('a pid file left by a killed daemon does not block the next up', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'stacklet.pid'), '999999\n');
    const r = await stacklet(['up', '--detach', '--data-dir', dataDir, '--listen', `127.0.0.1:${await freePort()}`]);
    assert.equal(r.code, 0, r.stderr);
    const pid = pidOf(dataDir);
    assert.ok(pid !== undefined && pid !== 999999);
    started.push(pid);
    assert.equal((await stacklet(['down', '--data-dir', dataDir])).code, 0);
  });

  test('bad flags and unknown commands: exit code 2 with what to do', async () => {
    const dataDir = tempDir();
    const cases: [string[], RegExp][] = [
      [['up', '--data-dir', dataDir, '--listen', 'nonsense'], /--listen wants HOST:PORT/],
      [['up', '--data-dir', dataDir, '--bogus'], /bogus/],
      [['up', '--data-dir', dataDir, '--log-level', 'loud'], /logLevel/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['clouds-yaml', '--data-dir', dataDir], /stacklet up/],
    ];
    for (const [args, msg] of cases) {
      const r = await stacklet(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
    const help = await stacklet(['help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /stacklet up/);
  });
});
