import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestCloud } from '../helpers/cloud.js';
import { sh, sshFrom, tearDownSandboxCloud, TINY_CACHE, until } from '../helpers/sandbox.js';

/**
 * A real cloud-init image (Debian 12, built offline from Debian's packages
 * by scripts/build-cloud-init-image.sh, cached) boots on the seeded sandbox
 * cloud and takes its hostname, the key pair and the user-data from our
 * metadata service. Every name carries the prefix `sli`.
 */

const PREFIX = 'sli';
const SANDBOX = `sli-sbx-${process.pid}`;
// dist/test/e2e -> repository root
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('slow: a Debian cloud-init image gets hostname, key and user-data from our metadata', { timeout: 1_800_000 }, () => {
  let cloud: TestCloud | undefined;
  const work = mkdtempSync(join(tmpdir(), 'sli-'));
  const key = join(work, 'id');
  let fip = '';
  let image = '';
  const demo = { cloud: 'stacklet' };
  const admin = { cloud: 'stacklet-admin' };
  const ssh = (cmd: string) => sshFrom(SANDBOX, key, `debian@${fip}`, cmd, 60_000);

  before(async () => {
    const t0 = Date.now();
    const built = await sh([join(REPO, 'scripts', 'build-cloud-init-image.sh')], 1_500_000);
    assert.equal(built.code, 0, `building the cloud-init image failed:\n${built.stderr.slice(-4000)}`);
    image = built.stdout.trim().split('\n').pop() ?? '';
    console.log(`cloud-init image ${image} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    cloud = await TestCloud.start({ seed: true, args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_TINY_CACHE: TINY_CACHE } });
    const r = await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await tearDownSandboxCloud(cloud, PREFIX);
    rmSync(work, { recursive: true, force: true });
  });

  test('server create from the image: ssh as debian with the key, hostname from metadata, runcmd ran, OpenStack datasource', async () => {
    const c = cloud;
    assert.ok(c);
    await c.os(['image', 'create', '--disk-format', 'qcow2', '--container-format', 'bare', '--public', '--file', image, 'debian-ci'], admin);
    await c.os(['flavor', 'create', '--ram', '512', '--vcpus', '1', '--disk', '4', '--public', 'ci.debian'], admin);
    await c.os(['keypair', 'create', '--public-key', `${key}.pub`, 'k'], demo);
    const userData = join(work, 'user-data');
    writeFileSync(userData, '#cloud-config\nruncmd:\n  - [sh, -c, "echo stacklet-user-data > /run/sli-marker"]\n');
    const t0 = Date.now();
    const server = await c.osJson<{ id: string; status: string }>(
      ['server', 'create', '--flavor', 'ci.debian', '--image', 'debian-ci', '--network', 'private', '--key-name', 'k', '--user-data', userData, '--wait', 'debian1'],
      demo,
    );
    assert.equal(server.status, 'ACTIVE');
    fip = (await c.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', 'public'], demo)).floating_ip_address;
    await c.os(['server', 'add', 'floating', 'ip', 'debian1', fip], demo);

    let hostname: string;
    try {
      hostname = await until('ssh into the Debian guest as debian', async () => {
        const r = await ssh('hostname');
        return r.code === 0 ? r.stdout.trim() : undefined;
      }, 900_000);
    } catch (e) {
      const log = await c.openstack(['console', 'log', 'show', 'debian1'], demo);
      throw new Error(`${String(e)}\nconsole log tail:\n${log.stdout.slice(-6000)}`);
    }
    console.log(`debian1: create -> ssh ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(hostname, 'debian1');

    // runcmd runs late in boot (cloud-final): wait for cloud-init to finish.
    const status = await until('cloud-init to finish', async () => {
      const r = await ssh('cloud-init status --long --wait');
      return r.stdout.includes('status:') ? r.stdout : undefined;
    }, 600_000);
    assert.match(status, /status: done/, status);
    assert.match(status, /DataSourceOpenStack/, status);
    const marker = await ssh('cat /run/sli-marker');
    assert.equal(marker.stdout.trim(), 'stacklet-user-data', marker.stderr);
    const result = await ssh('sudo cat /run/cloud-init/result.json');
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { v1: { datasource: string; errors: unknown[] } };
    assert.match(parsed.v1.datasource, /OpenStack/);
    assert.deepEqual(parsed.v1.errors, []);
    const keys = await ssh('cat ~/.ssh/authorized_keys');
    assert.match(keys.stdout, /ssh-ed25519/);

    await c.os(['server', 'delete', '--wait', 'debian1'], demo);
  });
});
