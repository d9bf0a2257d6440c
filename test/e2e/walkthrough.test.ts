import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCloud } from '../helpers/cloud.js';
import { sh, sshFrom, tearDownSandboxCloud, TINY_CACHE, until } from '../helpers/sandbox.js';
import { pingFrom } from '../integration/host-network-machines.js';

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

describe('the seed walk-through: boot, floating IP, ping and SSH from the host', { timeout: 900_000 }, () => {
  let cloud: TestCloud;
  const work = mkdtempSync(join(tmpdir(), 'slw-'));
  const key = join(work, 'id');
  let fip = '';
  const demo = { cloud: 'stacklet' };
  const ssh = (cmd: string) => sshFrom(SANDBOX, key, `cirros@${fip}`, cmd);

  before(async () => {
    cloud = await TestCloud.start({ seed: true, args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_TINY_CACHE: TINY_CACHE } });
    const r = await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await tearDownSandboxCloud(cloud, PREFIX);
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
