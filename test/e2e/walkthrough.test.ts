import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCloud } from '../helpers/cloud.js';
import { pingFrom, run } from '../integration/host-network-machines.js';

/**
 * The seed's whole walk-through, as the blog post ends it: the first start
 * seeds the cloud; a key pair, a server on private from the tiny image, a
 * floating IP; then, from the (sandbox) host, ping and SSH into the guest,
 * and from the guest, its router. Real QEMU (TCG here), real bridges,
 * nftables and dnsmasq, inside a sandbox namespace this test made; every
 * name carries the prefix `slw`.
 */

const PREFIX = 'slw';
const SANDBOX = `slw-sbx-${process.pid}`;
const TINY_CACHE = process.env['STACKLET_TINY_CACHE'] ?? '/var/cache/stacklet-test/tiny';

function sh(argv: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0] ?? 'false', argv.slice(1), { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function killByPidFiles(dir: string, file: string): void {
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

describe('the seed walk-through: boot, floating IP, ping and SSH from the host', { timeout: 900_000 }, () => {
  let cloud: TestCloud;
  const work = mkdtempSync(join(tmpdir(), 'slw-'));
  const key = join(work, 'id');
  let fip = '';
  const demo = { cloud: 'stacklet' };
  const ssh = (cmd: string) =>
    sh(
      ['ip', 'netns', 'exec', SANDBOX, 'ssh', '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'BatchMode=yes', `cirros@${fip}`, cmd],
      30_000,
    );

  before(async () => {
    cloud = await TestCloud.start({ seed: true, args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_TINY_CACHE: TINY_CACHE } });
    const r = await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await cloud?.down();
    if (cloud) {
      killByPidFiles(join(cloud.dataDir, 'instances'), 'qemu.pid');
      killByPidFiles(join(cloud.dataDir, 'network', 'dhcp'), 'dnsmasq.pid');
    }
    const listed = await run.run(['ip', 'netns', 'list']);
    for (const line of listed.stdout.split('\n')) {
      const ns = line.split(' ')[0] ?? '';
      if (ns.startsWith(`${PREFIX}-`)) await run.run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    }
    await cloud?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('keypair, server create --wait, floating IP: ping and ssh from the host, the guest reads its own metadata through its router', async () => {
    await cloud.os(['keypair', 'create', '--public-key', `${key}.pub`, 'k'], demo);
    const server = await cloud.osJson<{ id: string; status: string }>(
      ['server', 'create', '--flavor', 'm1.nano', '--image', 'cirros', '--network', 'private', '--key-name', 'k', '--wait', 'vm1'],
      demo,
    );
    assert.equal(server.status, 'ACTIVE');
    fip = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', 'public'], demo)).floating_ip_address;
    await cloud.os(['server', 'add', 'floating', 'ip', 'vm1', fip], demo);

    await until('ping to the floating IP', async () => ((await pingFrom(SANDBOX, fip, { timeoutS: 1 })) ? true : undefined), 240_000);
    const hostname = await until('ssh into the guest', async () => {
      const r = await ssh('hostname');
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 240_000);
    assert.equal(hostname, 'vm1');
    // The guest user is not root (busybox ping needs it): the metadata service, served in the router's namespace, proves the path.
    const md = await ssh('wget -q -O - http://169.254.169.254/openstack/latest/meta_data.json');
    assert.equal(md.code, 0, `the guest could not reach the metadata service through its router: ${md.stderr}`);
    assert.equal((JSON.parse(md.stdout) as { uuid: string }).uuid, server.id, 'the metadata service answered for another instance');

    const log = await cloud.os(['console', 'log', 'show', 'vm1'], demo);
    assert.match(log, /Stacklet tiny guest/);

    await cloud.os(['server', 'delete', '--wait', 'vm1'], demo);
    const left = await sh(['pgrep', '-f', server.id]);
    assert.notEqual(left.code, 0, `a qemu of ${server.id} is still running`);
  });
});
