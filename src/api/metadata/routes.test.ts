import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createServers } from '../../core/compute/create.js';
import { guestView } from '../../core/compute/metadata.js';
import { authOf, IMAGE_ID, makeKit, type Kit } from '../../core/compute/testkit.js';
import { createNetwork } from '../../core/network/networks.js';
import { createSubnet } from '../../core/network/subnets.js';
import { buildMetadataApp } from './routes.js';

/** The metadata service answers the instance behind the asking port, and nobody else. */
describe('metadata service', () => {
  let kit: Kit;
  let app: FastifyInstance;
  let id = '';
  let ip = '';
  let otherNet = '';
  let otherIp = '';
  const demo = authOf('p1');

  before(async () => {
    kit = await makeKit();
    app = await buildMetadataApp(kit.core);
    await kit.core.keypairs.create(demo, { name: 'k' });
    const userData = Buffer.from('#cloud-config\nhostname: ignored\n').toString('base64');
    const r = await createServers(
      kit.core,
      demo,
      { name: 'vm1', imageRef: IMAGE_ID, flavorRef: '42', keyName: 'k', userData, metadata: { role: 'db' }, networks: [{ uuid: kit.networkId }], configDrive: false, minCount: 1, maxCount: 1, tags: [] },
      'r',
    );
    const s = r.servers[0];
    assert.ok(s);
    id = s.id;
    ip = (await guestView(kit.core, s)).details.addresses[0]?.addr ?? '';
    // Another project, another network with the same range: the same address must not leak vm1's data.
    const p2 = authOf('p2');
    const n = await createNetwork(kit.net, { auth: p2, projectId: 'p2', isAdmin: false }, { name: 'other' });
    await createSubnet(kit.net, { auth: p2, projectId: 'p2', isAdmin: false }, { network_id: n.row.id, ip_version: 4, cidr: '10.0.0.0/24' });
    otherNet = n.row.id;
    const r2 = await createServers(kit.core, p2, { name: 'vm2', imageRef: IMAGE_ID, flavorRef: '42', metadata: {}, networks: [{ uuid: otherNet }], configDrive: false, minCount: 1, maxCount: 1, tags: [] }, 'r');
    const s2 = r2.servers[0];
    assert.ok(s2);
    otherIp = (await guestView(kit.core, s2)).details.addresses[0]?.addr ?? '';
  });
  after(async () => {
    await app.close();
    await kit.close();
  });

  const get = (url: string, from = ip, network = kit.networkId) =>
    app.inject({ method: 'GET', url, headers: { 'x-forwarded-for': from, 'x-stacklet-network-id': network } });

  test('OpenStack layout: listings, meta_data.json, network_data.json, user_data, vendor data', async () => {
    assert.match((await get('/openstack')).body, /2012-08-10[\s\S]*latest/);
    const listing = (await get('/openstack/latest')).body.split('\n');
    assert.deepEqual(listing.sort(), ['meta_data.json', 'network_data.json', 'user_data', 'vendor_data.json', 'vendor_data2.json']);
    const md = (await get('/openstack/latest/meta_data.json')).json<Record<string, unknown>>();
    assert.equal(md['uuid'], id);
    assert.equal(md['name'], 'vm1');
    assert.equal(md['hostname'], 'vm1');
    assert.equal(md['project_id'], 'p1');
    assert.equal(md['availability_zone'], 'nova');
    assert.equal(md['launch_index'], 0);
    assert.deepEqual(md['meta'], { role: 'db' });
    assert.match(String((md['public_keys'] as Record<string, string>)['k']), /^ssh-ed25519 /);
    assert.equal((md['keys'] as { name: string; type: string }[])[0]?.type, 'ssh');
    const dated = (await get('/openstack/2013-04-04/meta_data.json')).json<Record<string, unknown>>();
    assert.equal(dated['uuid'], id);
    const nd = (await get('/openstack/latest/network_data.json')).json<{ links: { ethernet_mac_address: string }[]; networks: unknown[] }>();
    assert.match(nd.links[0]?.ethernet_mac_address ?? '', /^fa:16:3e:/);
    assert.equal((await get('/openstack/latest/user_data')).body, '#cloud-config\nhostname: ignored\n');
    assert.deepEqual((await get('/openstack/latest/vendor_data.json')).json(), {});
    assert.deepEqual((await get('/openstack/latest/vendor_data2.json')).json(), {});
    assert.equal((await get('/openstack/1999-01-01/meta_data.json')).statusCode, 404);
  });

  test('EC2 layout: meta-data tree, public keys, placement, user-data', async () => {
    assert.match((await get('/')).body, /2009-04-04\nlatest/);
    assert.equal((await get('/latest')).body, 'meta-data/\nuser-data');
    const dir = (await get('/latest/meta-data/')).body.split('\n');
    for (const k of ['hostname', 'instance-id', 'local-ipv4', 'public-ipv4', 'public-keys/', 'placement/', 'local-hostname']) assert.ok(dir.includes(k), k);
    assert.equal((await get('/latest/meta-data/hostname')).body, 'vm1');
    assert.equal((await get('/latest/meta-data/local-ipv4')).body, ip);
    assert.match((await get('/2009-04-04/meta-data/instance-id')).body, /^i-[0-9a-f]{8}$/);
    assert.equal((await get('/latest/meta-data/public-keys/')).body, '0=k');
    assert.equal((await get('/latest/meta-data/public-keys/0/')).body, 'openssh-key');
    assert.match((await get('/latest/meta-data/public-keys/0/openssh-key')).body, /^ssh-ed25519 /);
    assert.equal((await get('/latest/meta-data/placement/availability-zone')).body, 'nova');
    assert.equal((await get('/latest/user-data')).body, '#cloud-config\nhostname: ignored\n');
    assert.equal((await get('/latest/meta-data/nosuch')).statusCode, 404);
  });

  test('only the owner of the asking port is answered', async () => {
    assert.equal((await get('/openstack/latest/meta_data.json', '10.0.0.200')).statusCode, 404);
    const other = (await get('/openstack/latest/meta_data.json', otherIp, otherNet)).json<Record<string, unknown>>();
    assert.notEqual(other['uuid'], id);
    assert.equal(other['project_id'], 'p2');
    if (otherIp === ip) {
      // Same address on the other project's network: the network decides, never the address alone.
      assert.equal(other['name'], 'vm2');
    }
    const noHeaders = await app.inject({ method: 'GET', url: '/openstack/latest/meta_data.json' });
    assert.equal(noHeaders.statusCode, 400);
    const badNet = await app.inject({ method: 'GET', url: '/', headers: { 'x-forwarded-for': ip, 'x-stacklet-network-id': 'not-a-uuid' } });
    assert.equal(badNet.statusCode, 400);
  });
});

describe('metadata over a unix socket', () => {
  test('listenMetadata serves the app on a socket only its owner can open', async () => {
    const { mkdtempSync, statSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { request } = await import('node:http');
    const { listenMetadata } = await import('./routes.js');
    const kit = await makeKit();
    const dir = mkdtempSync(join(tmpdir(), 'md-'));
    const sock = join(dir, 'run', 'metadata.sock');
    const app = await listenMetadata(kit.core, sock);
    try {
      assert.equal(statSync(sock).mode & 0o777, 0o600);
      const status = await new Promise<number>((resolve, reject) => {
        const r = request({ socketPath: sock, path: '/openstack', headers: { 'x-forwarded-for': '10.0.0.9', 'x-stacklet-network-id': kit.networkId } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.on('error', reject);
        r.end();
      });
      assert.equal(status, 404, 'nobody holds 10.0.0.9: not found, over the socket');
    } finally {
      await app.close();
      await kit.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
