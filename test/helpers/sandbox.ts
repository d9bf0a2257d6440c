import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestCloud } from './cloud.js';

/**
 * What the end-to-end tests of a sandboxed cloud share: running host
 * commands, waiting for the data plane and the guests, and taking down
 * everything a test's cloud made, by PID file and by the test's prefix.
 */

/** Where the tests keep the tiny guest build (shared by every test run on this machine). */
export const TINY_CACHE = process.env['STACKLET_TINY_CACHE'] ?? '/var/cache/stacklet-test/tiny';

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv (never a shell string); a failure is a result with its exit code, not a throw. */
export function sh(argv: string[], timeoutMs = 60_000): Promise<ShResult> {
  return new Promise((resolve) => {
    execFile(argv[0] ?? 'false', argv.slice(1), { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `ssh user@ip cmd` from inside a namespace (the sandbox: the cloud's host)
 * with a test key: no host key prompts or files, no password fallback.
 * Exit 255 is SSH itself failing; anything else is the command's own status.
 */
export function sshFrom(netns: string, key: string, target: string, cmd: string, timeoutMs = 30_000): Promise<ShResult> {
  const opts = ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'ConnectTimeout=5', 'BatchMode=yes'].flatMap((o) => ['-o', o]);
  return sh(['ip', 'netns', 'exec', netns, 'ssh', '-i', key, ...opts, target, cmd], timeoutMs);
}

/** Polls fn every second until it returns a value, or throws naming what it waited for. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** SIGKILLs the process named by `file` in each subfolder of `dir` (qemu.pid, dnsmasq.pid). */
export function killByPidFiles(dir: string, file: string): void {
  if (!existsSync(dir)) return;
  for (const d of readdirSync(dir)) {
    const p = join(dir, d, file);
    if (!existsSync(p)) continue;
    const pid = Number(readFileSync(p, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Deletes every network namespace named `<prefix>-...`: the sandbox and the cloud's router and DHCP namespaces. */
export async function deleteNamespaces(prefix: string): Promise<void> {
  const listed = await sh(['ip', 'netns', 'list']);
  for (const line of listed.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    if (ns.startsWith(`${prefix}-`)) await sh(['ip', 'netns', 'del', ns]);
  }
}

/**
 * Takes down a sandboxed test cloud and all it made: the daemon, its VMs
 * and dnsmasqs (by their PID files, which survive a daemon that died), and
 * the namespaces of the test's prefix.
 */
export async function tearDownSandboxCloud(cloud: TestCloud | undefined, prefix: string): Promise<void> {
  await cloud?.down();
  if (cloud) {
    killByPidFiles(join(cloud.dataDir, 'instances'), 'qemu.pid');
    killByPidFiles(join(cloud.dataDir, 'network', 'dhcp'), 'dnsmasq.pid');
  }
  await deleteNamespaces(prefix);
  await cloud?.stop();
}
