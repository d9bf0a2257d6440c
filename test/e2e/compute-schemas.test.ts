import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCloud } from '../helpers/cloud.js';
import { tempestProblems } from '../samples/tempest-compute-schemas/index.js';

/**
 * Tempest's response schemas as the contract: every compute response shape
 * at 2.1, at the maximum (2.79) and at the microversions where shapes change
 * must validate against the schema tempest's own client would apply.
 */

const VERSIONS = ['2.1', '2.3', '2.9', '2.16', '2.19', '2.26', '2.47', '2.53', '2.55', '2.61', '2.64', '2.71', '2.73', '2.75', '2.79'];

describe('compute responses match tempest’s schemas per microversion', () => {
  let c: TestCloud;
  let admin: string;
  let demo: string;
  let serverId = '';
  let errorServerId = '';
  let groupId = '';

  const call = (token: string, version: string, method: string, path: string, body?: unknown) =>
    c.api(method, `/compute/v2.1${path}`, { token, headers: { 'OpenStack-API-Version': `compute ${version}` }, ...(body !== undefined ? { body } : {}) });

  function conforms(client: string, name: string, version: string, r: { status: number; body: unknown }): void {
    const problems = tempestProblems(client, name, version, r.status, r.body);
    assert.deepEqual(problems, [], `${client}.${name} at ${version}: ${String(JSON.stringify(r.body)).slice(0, 400)}`);
  }

  before(async () => {
    c = await TestCloud.start();
    admin = await c.token('admin');
    demo = await c.token('demo');
    const img = join(c.dataDir, 'img.raw');
    writeFileSync(img, Buffer.alloc(1024 * 1024));
    const image = await c.osJson<{ id: string }>(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--public', '--file', img, 'tiny'], { cloud: 'stacklet-admin' });
    const net = await c.osJson<{ id: string }>(['network', 'create', 'private'], { cloud: 'stacklet' });
    await c.osJson(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet'], { cloud: 'stacklet' });
    const kp = await call(demo, '2.79', 'POST', '/os-keypairs', { keypair: { name: 'k' } });
    assert.equal(kp.status, 201);
    const g = await call(demo, '2.79', 'POST', '/os-server-groups', { server_group: { name: 'g', policy: 'anti-affinity' } });
    groupId = (g.body as { server_group: { id: string } }).server_group.id;
    const s = await c.api('POST', '/compute/v2.1/servers', {
      token: demo,
      headers: { 'OpenStack-API-Version': 'compute 2.79' },
      body: {
        server: { name: 'vm1', imageRef: image.id, flavorRef: '42', networks: [{ uuid: net.id }], key_name: 'k', metadata: { a: 'b' }, tags: ['t1'] },
        'os:scheduler_hints': { group: groupId },
      },
    });
    assert.equal(s.status, 202, s.text);
    serverId = (s.body as { server: { id: string } }).server.id;
    // A second member of the anti-affinity group cannot be placed: an ERROR server with a fault.
    const e = await call(demo, '2.79', 'POST', '/servers', { server: { name: 'vm2', imageRef: image.id, flavorRef: '42', networks: 'none' }, 'os:scheduler_hints': { group: groupId } });
    errorServerId = (e.body as { server: { id: string } }).server.id;
  });
  after(async () => c?.stop());

  test('servers: list, detail, show (BUILD and ERROR with fault), update, ips, interfaces, actions', async () => {
    for (const v of VERSIONS) {
      conforms('servers_client', 'list_servers', v, await call(demo, v, 'GET', '/servers'));
      conforms('servers_client', 'list_servers_detail', v, await call(demo, v, 'GET', '/servers/detail'));
      conforms('servers_client', 'list_servers_detail', v, await call(admin, v, 'GET', '/servers/detail?all_tenants=1'));
      conforms('servers_client', 'get_server', v, await call(demo, v, 'GET', `/servers/${serverId}`));
      conforms('servers_client', 'get_server', v, await call(admin, v, 'GET', `/servers/${serverId}`));
      const err = await call(demo, v, 'GET', `/servers/${errorServerId}`);
      conforms('servers_client', 'get_server', v, err);
      assert.equal((err.body as { server: { fault: { message: string } } }).server.fault.message, 'No valid host was found. There are not enough hosts available.');
      const upd = v === '2.1' || Number(v.split('.')[1]) < 19 ? { server: { name: 'vm1' } } : { server: { name: 'vm1', description: 'd' } };
      conforms('servers_client', 'update_server', v, await call(demo, v, 'PUT', `/servers/${serverId}`, upd));
      conforms('v2_1/servers', 'list_addresses', v, await call(demo, v, 'GET', `/servers/${serverId}/ips`));
      conforms('interfaces_client', 'list_interfaces', v, await call(demo, v, 'GET', `/servers/${serverId}/os-interface`));
      // Tempest checks the action list with its 2.1 schema only (it has none for 2.58's updated_at).
      if (Number(v.split('.')[1]) < 58) conforms('v2_1/servers', 'list_instance_actions', v, await call(demo, v, 'GET', `/servers/${serverId}/os-instance-actions`));
      const actions = await call(demo, v, 'GET', `/servers/${serverId}/os-instance-actions`);
      const reqId = (actions.body as { instanceActions: { request_id: string }[] }).instanceActions[0]?.request_id ?? '';
      conforms('servers_client', 'show_instance_action', v, await call(admin, v, 'GET', `/servers/${serverId}/os-instance-actions/${reqId}`));
      conforms('v2_1/servers', 'list_server_metadata', v, await call(demo, v, 'GET', `/servers/${serverId}/metadata`));
    }
  });

  test('server create (with the generated adminPass tempest expects) and delete', async () => {
    const image = (await call(demo, '2.79', 'GET', `/servers/${serverId}`)).body as { server: { image: { id: string } } };
    for (const v of ['2.1', '2.19', '2.37', '2.52', '2.79']) {
      const minor = Number(v.split('.')[1]);
      const body = { server: { name: `c-${v}`, imageRef: image.server.image.id, flavorRef: '42', ...(minor >= 37 ? { networks: 'none' } : {}) } };
      const r = await call(demo, v, 'POST', '/servers', body);
      conforms('v2_1/servers', 'create_server_with_admin_pass', v, r);
      const id = (r.body as { server: { id: string } }).server.id;
      conforms('v2_1/servers', 'delete_server', v, await call(demo, v, 'DELETE', `/servers/${id}`));
    }
  });

  test('flavors: list, detail, show, create, extra specs, access', async () => {
    for (const v of VERSIONS) {
      conforms('flavors_client', 'list_flavors', v, await call(demo, v, 'GET', '/flavors'));
      conforms('flavors_client', 'list_flavors_details', v, await call(demo, v, 'GET', '/flavors/detail'));
      conforms('flavors_client', 'create_update_get_flavor_details', v, await call(demo, v, 'GET', '/flavors/42'));
      const created = await call(admin, v, 'POST', '/flavors', { flavor: { name: `f-${v}`, ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false } });
      conforms('flavors_client', 'create_update_get_flavor_details', v, created);
      const id = (created.body as { flavor: { id: string } }).flavor.id;
      conforms('v2_1/flavors_extra_specs', 'set_get_flavor_extra_specs', v, await call(admin, v, 'POST', `/flavors/${id}/os-extra_specs`, { extra_specs: { 'hw:x': '1' } }));
      conforms('v2_1/flavors_access', 'add_remove_list_flavor_access', v, await call(admin, v, 'GET', `/flavors/${id}/os-flavor-access`));
      conforms('flavors_client', 'delete_flavor', v, await call(admin, v, 'DELETE', `/flavors/${id}`));
    }
  });

  test('keypairs, limits, quotas, server groups, availability zones, hypervisors, services', async () => {
    for (const v of VERSIONS) {
      conforms('keypairs_client', 'list_keypairs', v, await call(demo, v, 'GET', '/os-keypairs'));
      conforms('keypairs_client', 'get_keypair', v, await call(demo, v, 'GET', '/os-keypairs/k'));
      const kp = await call(demo, v, 'POST', '/os-keypairs', { keypair: { name: `k-${v.replace('.', '-')}` } });
      conforms('keypairs_client', 'create_keypair', v, kp);
      assert.match((kp.body as { keypair: { private_key: string } }).keypair.private_key, /BEGIN OPENSSH PRIVATE KEY/);
      conforms('keypairs_client', 'delete_keypair', v, await call(demo, v, 'DELETE', `/os-keypairs/k-${v.replace('.', '-')}`));
      conforms('limits_client', 'get_limit', v, await call(demo, v, 'GET', '/limits'));
      const project = (await c.osJson<{ id: string }>(['project', 'show', 'demo'], { cloud: 'stacklet-admin' })).id;
      conforms('quotas_client', 'get_quota_set', v, await call(demo, v, 'GET', `/os-quota-sets/${project}`));
      conforms('quotas_client', 'get_quota_set', v, await call(demo, v, 'GET', `/os-quota-sets/${project}/defaults`));
      conforms('quotas_client', 'get_quota_set_details', v, await call(demo, v, 'GET', `/os-quota-sets/${project}/detail`));
      conforms('quotas_client', 'update_quota_set', v, await call(admin, v, 'PUT', `/os-quota-sets/${project}`, { quota_set: { instances: 12 } }));
      conforms('server_groups_client', 'list_server_groups', v, await call(demo, v, 'GET', '/os-server-groups'));
      conforms('server_groups_client', 'create_show_server_group', v, await call(demo, v, 'GET', `/os-server-groups/${groupId}`));
      conforms('availability_zone_client', 'list_availability_zone_list', v, await call(demo, v, 'GET', '/os-availability-zone'));
      conforms('availability_zone_client', 'list_availability_zone_list_detail', v, await call(admin, v, 'GET', '/os-availability-zone/detail'));
      conforms('hypervisor_client', 'list_search_hypervisors', v, await call(admin, v, 'GET', '/os-hypervisors'));
      const detail = await call(admin, v, 'GET', '/os-hypervisors/detail');
      conforms('hypervisor_client', 'list_hypervisors_detail', v, detail);
      const hid = (detail.body as { hypervisors: { id: string | number }[] }).hypervisors[0]?.id;
      conforms('hypervisor_client', 'get_hypervisor', v, await call(admin, v, 'GET', `/os-hypervisors/${String(hid)}`));
      conforms('hypervisor_client', 'get_hypervisor_uptime', v, await call(admin, v, 'GET', `/os-hypervisors/${String(hid)}/uptime`));
      conforms('hypervisor_client', 'get_hypervisor_statistics', v, await call(admin, v, 'GET', '/os-hypervisors/statistics'));
      conforms('services_client', 'list_services', v, await call(admin, v, 'GET', '/os-services'));
    }
  });

  test('versions', async () => {
    const r = await c.api('GET', '/compute/v2.1');
    conforms('versions_client', 'get_one_version', '2.1', r);
    const all = await c.api('GET', '/compute/');
    conforms('versions_client', 'list_versions', '2.1', all);
  });
});
