import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../src/daemon/runtime.js';

/**
 * The test harness: a real Stacklet process on a free loopback port with a
 * fresh data dir, driven over HTTP and through Debian's `openstack` CLI.
 * Everything it makes is removed by stop(); nothing is killed by name.
 */

export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
})();

const MODULES_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const BUNDLE_MAIN = join(REPO_ROOT, 'dist', 'bundle', 'main.js');

/** The newest modification time of the .js files under dir. */
function newestJs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestJs(p));
    else if (e.name.endsWith('.js')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The bundle bin/stacklet runs, when no file of the build is newer (a bare
 * `tsc` leaves it stale, and being incremental it rewrites only what changed).
 */
export function currentBundle(): string | undefined {
  try {
    return statSync(BUNDLE_MAIN).mtimeMs >= newestJs(dirname(dirname(MODULES_MAIN))) ? BUNDLE_MAIN : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The CLI the tests start: what bin/stacklet runs (the bundle scripts/setup.sh
 * builds) when it is current, else the ES modules tsc wrote;
 * STACKLET_TEST_MAIN picks another.
 */
export const MAIN = process.env['STACKLET_TEST_MAIN'] ?? currentBundle() ?? MODULES_MAIN;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ApiResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface StartOptions {
  /** Extra arguments for `stacklet up` (e.g. ['--sandbox', 'ns']). */
  args?: string[];
  env?: Record<string, string>;
  /** Create the seed topology and the cirros image, as a user's first `stacklet up` does. */
  seed?: boolean;
  /** Reuse a data dir (restart tests). */
  dataDir?: string;
  port?: number;
}

export class TestCloud {
  proc: ChildProcess | undefined;
  output = '';

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly opts: StartOptions,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get cloudsYaml(): string {
    return join(this.dataDir, 'clouds.yaml');
  }
  get logFile(): string {
    return join(this.dataDir, 'stacklet.log');
  }
  get secrets(): { adminPassword: string; demoPassword: string } {
    return JSON.parse(readFileSync(join(this.dataDir, 'secrets.json'), 'utf8')) as { adminPassword: string; demoPassword: string };
  }

  static async start(opts: StartOptions = {}): Promise<TestCloud> {
    const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'stacklet-test-'));
    const port = opts.port ?? (await freePort());
    const c = new TestCloud(dataDir, port, opts);
    await c.up();
    return c;
  }

  /** Starts (or restarts) the daemon on the same data dir and port and waits until it is healthy. */
  async up(): Promise<void> {
    // The daemon runs with the memory settings bin/stacklet and `up --detach` give it, so tests measure what users run.
    const env: Record<string, string> = { ...DAEMON_ENV, ...(process.env as Record<string, string>), STACKLET_LOG_LEVEL: 'info', ...this.opts.env };
    this.output = '';
    const extra = this.opts.args ?? [];
    // A test cloud touches the host only inside a sandbox namespace the test made (never the machine's own namespaces).
    const plane = extra.includes('--sandbox') ? [] : ['--no-data-plane'];
    // Tests start from an empty cloud (flavors only) unless they ask for the seed.
    if (!this.opts.seed) plane.push('--no-seed');
    const proc = spawn(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, 'up', '--data-dir', this.dataDir, '--listen', `127.0.0.1:${this.port}`, ...plane, ...extra], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`stacklet up exited with ${proc.exitCode}:\n${this.output}`);
      try {
        const r = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.down();
    throw new Error(`stacklet up did not become healthy in time:\n${this.output}`);
  }

  /** Stops the daemon (SIGTERM, then SIGKILL after 15 s), keeping the data dir. */
  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the daemon and removes the data dir. */
  async stop(): Promise<void> {
    await this.down();
    if (!this.opts.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Runs Debian's `openstack` CLI against this cloud (cloud `stacklet` = demo, `stacklet-admin` = admin). */
  openstack(args: string[], opts: { cloud?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/root',
      OS_CLIENT_CONFIG_FILE: this.cloudsYaml,
      OS_CLOUD: opts.cloud ?? 'stacklet-admin',
      ...opts.env,
    };
    return new Promise((resolve) => {
      execFile('openstack', args, { env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs `openstack ... -f json` and parses the output; throws with stderr when the command fails. */
  async osJson<T = Record<string, unknown>>(args: string[], opts: { cloud?: string; env?: Record<string, string> } = {}): Promise<T> {
    const r = await this.openstack([...args, '-f', 'json'], opts);
    if (r.code !== 0) throw new Error(`openstack ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Runs `openstack ...`; throws with stderr when the command fails. */
  async os(args: string[], opts: { cloud?: string; env?: Record<string, string> } = {}): Promise<string> {
    const r = await this.openstack(args, opts);
    if (r.code !== 0) throw new Error(`openstack ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** A token for admin (project admin) or demo (project demo), or any user/project given. */
  async token(who: 'admin' | 'demo' | { user: string; password: string; project?: string; domain?: string } = 'admin'): Promise<string> {
    const s = this.secrets;
    const cred =
      who === 'admin'
        ? { user: 'admin', password: s.adminPassword, project: 'admin' }
        : who === 'demo'
          ? { user: 'demo', password: s.demoPassword, project: 'demo' }
          : who;
    const body: Record<string, unknown> = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: cred.user, domain: { id: 'default' }, password: cred.password } } },
        ...(cred.project ? { scope: { project: { name: cred.project, domain: { id: 'default' } } } } : {}),
      },
    };
    const r = await this.api('POST', '/identity/v3/auth/tokens', { body });
    const t = r.headers.get('x-subject-token');
    if (r.status !== 201 || !t) throw new Error(`token for ${cred.user} failed: ${r.status} ${r.text}`);
    return t;
  }

  /** A raw HTTP call; `body` objects are sent as JSON, strings and buffers as they are. */
  async api<T = unknown>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers['x-auth-token'] = opts.token;
    let body: string | Uint8Array | undefined;
    if (typeof opts.body === 'string' || opts.body instanceof Uint8Array) body = opts.body;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
}
