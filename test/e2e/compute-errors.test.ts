import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Bad input to compute: Nova's error bodies with a message a person can act
 * on, nothing half-made, and never a 5xx (fast-check over the routes).
 */

type Row = Record<string, unknown>;

describe('compute refuses bad input clearly', () => {
  let c: TestCloud;
  let demo = '';
  let admin = '';
  let imageId = '';
  let bigImageId = '';
  let netId = '';
  let serverId = '';

  const api = (method: string, path: string, body?: unknown, token = demo, headers: Record<string, string> = {}) =>
    c.api(method, `/compute/v2.1${path}`, { token, headers, ...(body !== undefined ? { body } : {}) });

  before(async () => {
    c = await TestCloud.start();
    demo = await c.token('demo');
    admin = await c.token('admin');
    const raw = join(c.dataDir, 'img.raw');
    writeFileSync(raw, Buffer.alloc(1024 * 1024));
    imageId = (await c.osJson<Row>(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--public', '--file', raw, 'tiny'], { cloud: 'stacklet-admin' }))['id'] as string;
    const big = join(c.dataDir, 'big.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', big, '5G']);
    bigImageId = (await c.osJson<Row>(['image', 'create', '--disk-format', 'qcow2', '--container-format', 'bare', '--public', '--file', big, 'big'], { cloud: 'stacklet-admin' }))['id'] as string;
    netId = (await c.osJson<Row>(['network', 'create', 'private'], { cloud: 'stacklet' }))['id'] as string;
    await c.osJson(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet'], { cloud: 'stacklet' });
    const s = await api('POST', '/servers', { server: { name: 'vm', imageRef: imageId, flavorRef: '42', networks: [{ uuid: netId }] } });
    serverId = (s.body as { server: { id: string } }).server.id;
  });
  after(async () => c?.stop());

  const serverCount = async () => ((await api('GET', '/servers')).body as { servers: unknown[] }).servers.length;

  test('unknown flavor, image and network: 400 naming it; nothing created', async () => {
    const before = await serverCount();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ flavorRef: '999' }, /Flavor 999 could not be found/],
      [{ flavorRef: 'http://example.com/compute/flavors/777' }, /Flavor 777 could not be found/],
      [{ imageRef: '7e1a3bd1-3b0c-4f44-9c0a-93d4a1d00000' }, /Image 7e1a3bd1-3b0c-4f44-9c0a-93d4a1d00000 could not be found/],
      [{ networks: [{ uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' }] }, /Network aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee could not be found/],
      [{ key_name: 'nokey' }, /Invalid key_name provided.*nokey/],
      [{ security_groups: [{ name: 'nosuch' }] }, /Security group nosuch not found/],
    ];
    for (const [over, msg] of cases) {
      const r = await api('POST', '/servers', { server: { name: 'x', imageRef: imageId, flavorRef: '42', networks: [{ uuid: netId }], ...over } });
      assert.equal(r.status, 400, r.text);
      const body = r.body as { badRequest: { code: number; message: string } };
      assert.equal(body.badRequest.code, 400);
      assert.match(body.badRequest.message, msg);
    }
    assert.equal(await serverCount(), before);
    const ports = await c.osJson<Row[]>(['port', 'list', '--device-owner', 'compute:nova'], { cloud: 'stacklet' });
    assert.equal(ports.length, 1, 'only the first server’s port exists');
  });

  test('an image larger than the flavor’s disk, through the CLI', async () => {
    const r = await c.openstack(['server', 'create', '--flavor', 'm1.nano', '--image', 'big', '--network', 'private', 'toobig'], { cloud: 'stacklet' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, image is 5368709120 bytes.*\(HTTP 400\)/);
    void bigImageId;
  });

  test('user_data over 64 KiB is a 400; at 64 KiB it is taken', async () => {
    const file = join(c.dataDir, 'ud');
    writeFileSync(file, Buffer.alloc(64 * 1024 + 1, 'a'));
    const r = await c.openstack(['server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--network', 'private', '--user-data', file, 'ud'], { cloud: 'stacklet' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /User data too large: 65537 bytes after base64 decoding, at most 65536 bytes/);
    const ok = await api('POST', '/servers', { server: { name: 'ud-ok', imageRef: imageId, flavorRef: '42', networks: 'none', user_data: Buffer.alloc(65536, 'b').toString('base64') } }, demo, { 'OpenStack-API-Version': 'compute 2.37' });
    assert.equal(ok.status, 202);
    await api('DELETE', `/servers/${(ok.body as { server: { id: string } }).server.id}`);
    const notB64 = await api('POST', '/servers', { server: { name: 'x', imageRef: imageId, flavorRef: '42', user_data: '%%%' } });
    assert.equal(notB64.status, 400);
  });

  test('quota exceeded: 403 naming the quota', async () => {
    const project = (await c.osJson<Row>(['project', 'show', 'demo'], { cloud: 'stacklet-admin' }))['id'] as string;
    assert.equal((await api('PUT', `/os-quota-sets/${project}`, { quota_set: { instances: 2 } }, admin)).status, 200);
    try {
      await c.os(['server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--network', 'private', 'second'], { cloud: 'stacklet' });
      const r = await c.openstack(['server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--network', 'private', 'third'], { cloud: 'stacklet' });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Quota exceeded for instances: Requested 1, but already used 2 of 2 instances \(HTTP 403\)/);
      const lowered = await api('PUT', `/os-quota-sets/${project}`, { quota_set: { instances: 1 } }, admin);
      assert.equal(lowered.status, 400);
      assert.match(JSON.stringify(lowered.body), /must be greater than or equal to already used and reserved 2/);
      const cores = await api('PUT', `/os-quota-sets/${project}`, { quota_set: { instances: 10, cores: 2 } }, admin);
      assert.equal(cores.status, 200);
      const r2 = await api('POST', '/servers', { server: { name: 'big', imageRef: imageId, flavorRef: '3', networks: [{ uuid: netId }] } });
      assert.equal(r2.status, 403);
      assert.deepEqual(r2.body, { forbidden: { code: 403, message: 'Quota exceeded for cores: Requested 2, but already used 2 of 2 cores' } });
    } finally {
      await api('PUT', `/os-quota-sets/${project}`, { quota_set: { instances: 10, cores: 20 } }, admin);
      await c.os(['server', 'delete', 'second'], { cloud: 'stacklet' });
    }
  });

  test('actions in the wrong state: 409 conflictingRequest with Nova’s message', async () => {
    const r = await api('POST', `/servers/${serverId}/action`, { 'os-stop': null });
    assert.equal(r.status, 409);
    assert.deepEqual(r.body, { conflictingRequest: { code: 409, message: `Cannot 'stop' instance ${serverId} while it is in vm_state building` } });
    const reboot = await api('POST', `/servers/${serverId}/action`, { reboot: { type: 'SOFT' } });
    assert.equal(reboot.status, 409);
    const unknown = await api('POST', `/servers/${serverId}/action`, { fly: null });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body), /There is no such action: fly/);
    const two = await api('POST', `/servers/${serverId}/action`, { 'os-stop': null, 'os-start': null });
    assert.equal(two.status, 400);
    const bad = await api('POST', `/servers/${serverId}/action`, { reboot: { type: 'GENTLE' } });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /GENTLE/);
    const other = await api('GET', `/servers/${serverId}`, undefined, admin);
    assert.equal(other.status, 200, 'admin sees it');
    const stranger = await c.api('GET', `/compute/v2.1/servers/${serverId}`, { token: await c.token('admin') });
    assert.equal(stranger.status, 200);
  });

  test('bodies are checked per microversion: a field newer than the request is a 400', async () => {
    const r = await api('POST', '/servers', { server: { name: 'x', imageRef: imageId, flavorRef: '42', description: 'too new' } });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body), /Additional properties are not allowed \('description' was unexpected\)/);
    const r2 = await api('POST', '/servers', { server: { name: 'x', imageRef: imageId, flavorRef: '42' } }, demo, { 'OpenStack-API-Version': 'compute 2.37' });
    assert.equal(r2.status, 400);
    assert.match(JSON.stringify(r2.body), /'networks' is a required property/);
    const r3 = await api('GET', '/servers?status=SLEEPING', undefined, demo, { 'OpenStack-API-Version': 'compute 2.38' });
    assert.equal(r3.status, 400);
    assert.match(JSON.stringify(r3.body), /Invalid status value: SLEEPING/);
    const r4 = await api('GET', '/servers?status=SLEEPING');
    assert.equal(r4.status, 200);
    assert.deepEqual((r4.body as { servers: unknown[] }).servers, []);
    const r5 = await api('GET', '/servers?bogus=1', undefined, demo, { 'OpenStack-API-Version': 'compute 2.75' });
    assert.equal(r5.status, 400);
    const r6 = await api('POST', '/servers', '{"server": ', demo, { 'content-type': 'application/json' });
    assert.equal(r6.status, 400);
    assert.ok('badRequest' in (r6.body as object));
  });

  test('fuzzing the compute routes finds no 5xx', async () => {
    const ids = fc.oneof(fc.constant(serverId), fc.uuid(), fc.string({ maxLength: 40 }), fc.constant('42'), fc.constant('%2e%2e'), fc.constant('detail'));
    const paths = fc.oneof(
      ids.map((i) => `/servers/${encodeURIComponent(i)}`),
      ids.map((i) => `/servers/${encodeURIComponent(i)}/action`),
      ids.map((i) => `/servers/${encodeURIComponent(i)}/metadata`),
      fc.tuple(ids, fc.string({ maxLength: 20 })).map(([i, k]) => `/servers/${encodeURIComponent(i)}/metadata/${encodeURIComponent(k)}`),
      ids.map((i) => `/servers/${encodeURIComponent(i)}/tags`),
      ids.map((i) => `/servers/${encodeURIComponent(i)}/os-interface`),
      ids.map((i) => `/servers/${encodeURIComponent(i)}/os-instance-actions`),
      ids.map((i) => `/servers/${encodeURIComponent(i)}/remote-consoles`),
      ids.map((i) => `/servers/${encodeURIComponent(i)}/ips`),
      fc.constant('/servers'),
      fc.constant('/servers/detail'),
      fc.string({ maxLength: 30 }).map((q) => `/servers/detail?${q}`),
      fc.string({ maxLength: 30 }).map((q) => `/flavors?${q}`),
      ids.map((i) => `/flavors/${encodeURIComponent(i)}`),
      ids.map((i) => `/flavors/${encodeURIComponent(i)}/action`),
      ids.map((i) => `/flavors/${encodeURIComponent(i)}/os-extra_specs`),
      fc.constant('/flavors'),
      ids.map((i) => `/os-keypairs/${encodeURIComponent(i)}`),
      fc.constant('/os-keypairs'),
      fc.constant('/os-server-groups'),
      ids.map((i) => `/os-server-groups/${encodeURIComponent(i)}`),
      ids.map((i) => `/os-quota-sets/${encodeURIComponent(i)}`),
      fc.constant('/limits'),
      fc.constant('/os-hypervisors/detail'),
      ids.map((i) => `/os-hypervisors/${encodeURIComponent(i)}`),
      fc.constant('/os-services'),
      fc.constant('/os-server-external-events'),
    );
    const fields = fc.constantFrom(
      'server', 'name', 'imageRef', 'flavorRef', 'networks', 'uuid', 'port', 'fixed_ip', 'metadata', 'user_data', 'min_count', 'max_count',
      'os-start', 'os-stop', 'reboot', 'type', 'rebuild', 'lock', 'locked_reason', 'createImage', 'resize', 'keypair', 'public_key',
      'flavor', 'ram', 'vcpus', 'disk', 'extra_specs', 'quota_set', 'instances', 'server_group', 'policy', 'policies', 'rules', 'events',
      'tags', 'meta', 'remote_console', 'protocol', 'interfaceAttachment', 'net_id', 'block_device_mapping_v2', 'security_groups',
      'addSecurityGroup', 'os-getConsoleOutput', 'length', 'addTenantAccess', 'tenant', 'return_reservation_id', 'availability_zone',
    ); // prettier-ignore
    const leaf = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.uuid(), fc.constant(imageId), fc.constant(netId), fc.constant('42'), fc.constant('auto'), fc.constant('none'));
    const { value: body } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fields, tie('value'), { maxKeys: 4 })),
    }));
    const versions = fc.constantFrom('2.1', '2.19', '2.26', '2.37', '2.47', '2.55', '2.64', '2.73', '2.79', 'latest', '2.80', 'x');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), paths, body, versions, fc.boolean(), async (method, path, b, v, asAdmin) => {
        const r = await c.api(method, `/compute/v2.1${path}`, {
          token: asAdmin ? admin : demo,
          headers: { 'OpenStack-API-Version': `compute ${v}` },
          ...(method === 'POST' || method === 'PUT' ? { body: b ?? {} } : {}),
        });
        assert.ok(r.status < 500, `${method} ${path} at ${v} with ${JSON.stringify(b)} answered ${r.status}: ${r.text.slice(0, 300)}`);
      }),
      { numRuns: 600 },
    );
    const health = await c.api('GET', '/healthz');
    assert.equal(health.status, 200);
  });
});
