import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Nova through Debian's `openstack` CLI: flavors, keypairs, servers (BUILD
 * until a compute reconciler runs them), quotas, limits, zones, hypervisors,
 * server groups, and microversion negotiation over HTTP.
 */

type Row = Record<string, unknown>;

describe('compute with the openstack CLI', () => {
  let c: TestCloud;
  let netId = '';
  const demo = { cloud: 'stacklet' };
  const admin = { cloud: 'stacklet-admin' };

  before(async () => {
    c = await TestCloud.start();
    const img = join(c.dataDir, 'img.raw');
    writeFileSync(img, Buffer.alloc(2 * 1024 * 1024));
    await c.os(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--public', '--file', img, 'tiny'], admin);
    netId = (await c.osJson<Row>(['network', 'create', 'private'], demo))['id'] as string;
    await c.osJson(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet'], demo);
  });
  after(async () => c?.stop());

  test('flavors: the seed, show, create with properties, private access, delete', async () => {
    const list = await c.osJson<Row[]>(['flavor', 'list'], demo);
    assert.deepEqual(
      list.map((f) => f['Name']),
      ['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.nano', 'm1.micro'],
    );
    const nano = await c.osJson<Row>(['flavor', 'show', 'm1.nano'], demo);
    assert.equal(nano['ram'], 128);
    assert.equal(nano['vcpus'], 1);
    assert.equal(nano['disk'], 1);
    assert.equal(nano['id'], '42');

    const f = await c.osJson<Row>(['flavor', 'create', '--ram', '256', '--vcpus', '2', '--disk', '3', '--property', 'hw:cpu_policy=shared', 'custom'], admin);
    assert.equal(f['ram'], 256);
    await c.os(['flavor', 'set', '--property', 'quota:disk_read_bytes_sec=1000', 'custom'], admin);
    const shown = await c.osJson<Row>(['flavor', 'show', 'custom'], admin);
    assert.deepEqual(shown['properties'], { 'hw:cpu_policy': 'shared', 'quota:disk_read_bytes_sec': '1000' });
    await c.os(['flavor', 'unset', '--property', 'hw:cpu_policy', 'custom'], admin);
    assert.deepEqual((await c.osJson<Row>(['flavor', 'show', 'custom'], admin))['properties'], { 'quota:disk_read_bytes_sec': '1000' });

    await c.osJson(['flavor', 'create', '--ram', '64', '--vcpus', '1', '--disk', '0', '--private', 'secret'], admin);
    let names = (await c.osJson<Row[]>(['flavor', 'list'], demo)).map((x) => x['Name']);
    assert.ok(!names.includes('secret'), 'a private flavor is hidden from other projects');
    await c.os(['flavor', 'set', '--project', 'demo', 'secret'], admin);
    names = (await c.osJson<Row[]>(['flavor', 'list'], demo)).map((x) => x['Name']);
    assert.ok(names.includes('secret'), 'access given to demo shows it there');
    const all = await c.osJson<Row[]>(['flavor', 'list', '--all'], admin);
    assert.ok(all.some((x) => x['Name'] === 'secret'));
    const dup = await c.openstack(['flavor', 'create', '--ram', '64', '--vcpus', '1', '--disk', '0', 'secret'], admin);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /Flavor with name secret already exists/);
    const denied = await c.openstack(['flavor', 'create', '--ram', '64', '--vcpus', '1', '--disk', '0', 'mine'], demo);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /admin role/);
    await c.os(['flavor', 'delete', 'custom', 'secret'], admin);
    const gone = await c.openstack(['flavor', 'show', 'custom'], admin);
    assert.notEqual(gone.code, 0);
  });

  test('keypairs: generated ed25519 (ssh-keygen reads it), rsa, import, list, show, delete', async () => {
    const priv = await c.os(['keypair', 'create', 'k1'], demo);
    assert.match(priv, /BEGIN OPENSSH PRIVATE KEY/);
    const file = join(c.dataDir, 'k1.pem');
    writeFileSync(file, priv, { mode: 0o600 });
    const pub = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' });
    assert.match(pub, /^ssh-ed25519 /);
    const shown = await c.osJson<Row>(['keypair', 'show', 'k1'], demo);
    writeFileSync(`${file}.pub`, pub);
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', `${file}.pub`], { encoding: 'utf8' });
    assert.match(fp, new RegExp(`MD5:${String(shown['fingerprint'])}`));

    const demoToken = await c.token('demo');
    const rsa = await c.api<{ keypair: { public_key: string; private_key: string; type: string } }>('POST', '/compute/v2.1/os-keypairs', {
      token: demoToken,
      headers: { 'OpenStack-API-Version': 'compute 2.2' },
      body: { keypair: { name: 'k-rsa', type: 'ssh-rsa' } },
    });
    assert.equal(rsa.status, 201);
    assert.match(rsa.body.keypair.public_key, /^ssh-rsa /);
    const rsaFile = join(c.dataDir, 'rsa.pem');
    writeFileSync(rsaFile, rsa.body.keypair.private_key, { mode: 0o600 });
    assert.match(execFileSync('ssh-keygen', ['-y', '-f', rsaFile], { encoding: 'utf8' }), /^ssh-rsa /);

    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(c.dataDir, 'mine')]);
    const imported = await c.osJson<Row>(['keypair', 'create', '--public-key', join(c.dataDir, 'mine.pub'), 'k-imported'], demo);
    assert.equal(imported['name'], 'k-imported');
    const listed = await c.osJson<Row[]>(['keypair', 'list'], demo);
    assert.deepEqual(listed.map((k) => k['Name']).sort(), ['k-imported', 'k-rsa', 'k1']);
    assert.equal((await c.osJson<Row>(['keypair', 'show', 'k-imported'], demo))['type'], 'ssh');
    const bad = join(c.dataDir, 'bad.pub');
    writeFileSync(bad, 'ssh-rsa notbase64!!\n');
    const r = await c.openstack(['keypair', 'create', '--public-key', bad, 'k-bad'], demo);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Keypair data is invalid/);
    await c.os(['keypair', 'delete', 'k-rsa', 'k-imported'], demo);
    assert.deepEqual((await c.osJson<Row[]>(['keypair', 'list'], demo)).map((k) => k['Name']), ['k1']);
    // Keypairs are per user: admin does not see demo's.
    assert.deepEqual(await c.osJson<Row[]>(['keypair', 'list'], admin), []);
  });

  test('servers: create BUILD with a port on private, list and show with filters, set, delete', async () => {
    await c.os(['keypair', 'create', '--public-key', join(c.dataDir, 'mine.pub'), 'k'], demo).catch(async () => {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(c.dataDir, 'srv')]);
      await c.os(['keypair', 'create', '--public-key', join(c.dataDir, 'srv.pub'), 'k'], demo);
    });
    const s = await c.osJson<Row>(['server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--network', 'private', '--key-name', 'k', '--property', 'role=web', 'vm1'], demo);
    assert.equal(s['status'], 'BUILD');
    assert.equal(s['OS-EXT-STS:task_state'], 'spawning');
    assert.equal(s['key_name'], 'k');
    const id = s['id'] as string;
    const ports = await c.osJson<Row[]>(['port', 'list', '--device-id', id, '--long'], demo);
    assert.equal(ports.length, 1);
    assert.equal(ports[0]?.['Device Owner'], 'compute:nova');
    const port = await c.osJson<Row>(['port', 'show', String(ports[0]?.['ID'])], admin);
    assert.equal(port['network_id'], netId);
    assert.ok(String(port['binding_host_id']).length > 0);

    await c.osJson(['--os-compute-api-version', '2.37', 'server', 'create', '--flavor', 'm1.micro', '--image', 'tiny', '--nic', 'none', 'db1'], demo);
    const all = await c.osJson<Row[]>(['server', 'list'], demo);
    assert.deepEqual(all.map((x) => x['Name']).sort(), ['db1', 'vm1']);
    assert.deepEqual((await c.osJson<Row[]>(['server', 'list', '--name', '^vm'], demo)).map((x) => x['Name']), ['vm1']);
    assert.deepEqual((await c.osJson<Row[]>(['server', 'list', '--flavor', 'm1.micro'], demo)).map((x) => x['Name']), ['db1']);
    assert.equal((await c.osJson<Row[]>(['server', 'list', '--status', 'BUILD'], demo)).length, 2);
    assert.equal((await c.osJson<Row[]>(['server', 'list', '--status', 'ACTIVE'], demo)).length, 0);
    assert.equal((await c.osJson<Row[]>(['server', 'list', '--image', 'tiny'], demo)).length, 2);
    assert.equal((await c.osJson<Row[]>(['server', 'list', '--all-projects'], admin)).length, 2);
    assert.equal((await c.osJson<Row[]>(['server', 'list'], admin)).length, 0, "admin's own project has no servers");
    const long = await c.osJson<Row[]>(['server', 'list', '--long'], demo);
    assert.ok(long.every((x) => x['Availability Zone'] === 'nova'));

    const shown = await c.osJson<Row>(['server', 'show', 'vm1'], demo);
    assert.equal(shown['id'], id);
    assert.equal(shown['flavor'], 'm1.nano (42)');
    assert.match(String(shown['image']), /tiny/);
    assert.deepEqual(shown['properties'], { role: 'web' });

    await c.os(['server', 'set', '--name', 'vm1-renamed', 'vm1'], demo);
    assert.equal((await c.osJson<Row>(['server', 'show', id], demo))['name'], 'vm1-renamed');
    // Nova refuses metadata changes while a server builds.
    const prop = await c.openstack(['server', 'set', '--property', 'x=y', id], demo);
    assert.notEqual(prop.code, 0);
    assert.match(prop.stderr, new RegExp(`Cannot 'update metadata' instance ${id} while it is in vm_state building`));
    const stop = await c.openstack(['server', 'stop', id], demo);
    assert.match(stop.stderr, new RegExp(`Cannot 'stop' instance ${id} while it is in vm_state building \\(HTTP 409\\)`));

    // Security groups through Nova (OSC finds the group via Nova's os-security-groups proxy).
    await c.os(['security', 'group', 'create', 'web'], demo);
    await c.os(['server', 'add', 'security', 'group', id, 'web'], demo);
    const withWeb = await c.osJson<Row>(['server', 'show', id], demo);
    assert.deepEqual(withWeb['security_groups'], [{ name: 'default' }, { name: 'web' }]);
    const portSgs = (await c.osJson<Row>(['port', 'show', String(ports[0]?.['ID'])], demo))['security_group_ids'] as string[];
    assert.equal(portSgs.length, 2);
    await c.os(['server', 'remove', 'security', 'group', id, 'web'], demo);
    const again = await c.openstack(['server', 'remove', 'security', 'group', id, 'web'], demo);
    assert.match(again.stderr, /is not associated with the instance .* \(HTTP 400\)/);
    const events = await c.osJson<Row[]>(['server', 'event', 'list', id], demo);
    assert.deepEqual(
      events.map((e) => e['Action']),
      ['create'],
    );

    await c.os(['server', 'delete', '--wait', 'vm1-renamed', 'db1'], demo);
    assert.deepEqual(await c.osJson<Row[]>(['server', 'list'], demo), []);
    assert.deepEqual(
      (await c.osJson<Row[]>(['port', 'list', '--device-id', id], demo)).length,
      0,
      'the port compute made went with the server',
    );
  });

  test('limits, quotas, zones, hypervisors, services, server groups', async () => {
    const limits = await c.osJson<Row[]>(['limits', 'show', '--absolute'], demo);
    const get = (n: string) => limits.find((l) => l['Name'] === n)?.['Value'];
    assert.equal(get('maxTotalInstances'), 10);
    assert.equal(get('maxTotalCores'), 20);
    assert.equal(get('maxTotalRAMSize'), 51200);
    assert.equal(get('totalInstancesUsed'), 0);

    await c.os(['quota', 'set', '--instances', '3', '--cores', '5', '--key-pairs', '7', 'demo'], admin);
    const q = await c.osJson<Row>(['quota', 'show', 'demo'], admin);
    assert.equal(q['instances'], 3);
    assert.equal(q['cores'], 5);
    assert.equal(q['key-pairs'], 7);
    assert.equal((await c.osJson<Row[]>(['limits', 'show', '--absolute'], demo)).find((l) => l['Name'] === 'maxTotalInstances')?.['Value'], 3);
    const denied = await c.openstack(['quota', 'set', '--instances', '50', 'demo'], demo);
    assert.notEqual(denied.code, 0);
    await c.os(['quota', 'set', '--instances', '10', '--cores', '20', '--key-pairs', '100', 'demo'], admin);

    const zones = await c.osJson<Row[]>(['availability', 'zone', 'list', '--compute'], demo);
    assert.deepEqual(zones, [{ 'Zone Name': 'nova', 'Zone Status': 'available' }]);
    const zl = await c.osJson<Row[]>(['availability', 'zone', 'list', '--compute', '--long'], admin);
    assert.equal(zl.length, 1);
    assert.equal(zl[0]?.['Service Name'], 'nova-compute');
    assert.match(String(zl[0]?.['Service Status']), /^enabled :-\) /);

    const hv = await c.osJson<Row[]>(['hypervisor', 'list'], admin);
    assert.equal(hv.length, 1);
    assert.equal(hv[0]?.['Hypervisor Type'], 'QEMU');
    const h = await c.osJson<Row>(['hypervisor', 'show', String(hv[0]?.['Hypervisor Hostname'])], admin);
    const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
    assert.equal(h['vcpus'], cpus);
    const mem = Math.floor(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024);
    assert.ok(Math.abs(Number(h['memory_mb']) - mem) <= 1, `memory_mb ${String(h['memory_mb'])} vs ${mem}`);
    assert.ok(Number(h['hypervisor_version']) > 1_000_000, 'the QEMU version as Nova encodes it');
    const denied2 = await c.openstack(['hypervisor', 'list'], demo);
    assert.notEqual(denied2.code, 0);
    const services = await c.osJson<Row[]>(['compute', 'service', 'list'], admin);
    assert.equal(services[0]?.['Binary'], 'nova-compute');
    assert.equal(services[0]?.['State'], 'up');

    const g = await c.osJson<Row>(['server', 'group', 'create', '--policy', 'anti-affinity', 'spread'], demo);
    assert.equal(g['name'], 'spread');
    const groups = await c.osJson<Row[]>(['server', 'group', 'list'], demo);
    assert.deepEqual(groups.map((x) => x['Name']), ['spread']);
    const first = await c.osJson<Row>(['--os-compute-api-version', '2.37', 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--nic', 'none', '--hint', `group=${String(g['id'])}`, 'a1'], demo);
    assert.equal(first['status'], 'BUILD');
    const second = await c.osJson<Row>(['--os-compute-api-version', '2.37', 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--nic', 'none', '--hint', `group=${String(g['id'])}`, 'a2'], demo);
    const failed = await c.osJson<Row>(['server', 'show', String(second['id'])], demo);
    assert.equal(failed['status'], 'ERROR');
    assert.match(JSON.stringify(failed['fault']), /No valid host was found. There are not enough hosts available.*anti-affinity/);
    await c.os(['server', 'delete', 'a1', 'a2'], demo);
    await c.os(['server', 'group', 'delete', 'spread'], demo);
    assert.deepEqual(await c.osJson<Row[]>(['server', 'group', 'list'], demo), []);
  });

  test('microversions over HTTP: both headers, latest, 406 and 400 in Nova’s body', async () => {
    const t = await c.token('demo');
    const h = (headers: Record<string, string>) => c.api('GET', '/compute/v2.1/flavors/42', { token: t, headers });
    let r = await h({});
    assert.equal(r.headers.get('openstack-api-version'), 'compute 2.1');
    assert.equal(r.headers.get('x-openstack-nova-api-version'), '2.1');
    assert.match(r.headers.get('vary') ?? '', /OpenStack-API-Version/);
    r = await h({ 'OpenStack-API-Version': 'compute 2.61' });
    assert.equal(r.headers.get('openstack-api-version'), 'compute 2.61');
    assert.deepEqual((r.body as { flavor: { extra_specs: unknown } }).flavor.extra_specs, {});
    r = await h({ 'X-OpenStack-Nova-API-Version': '2.55' });
    assert.equal(r.headers.get('x-openstack-nova-api-version'), '2.55');
    assert.equal((r.body as { flavor: { description: unknown } }).flavor.description, null);
    r = await h({ 'OpenStack-API-Version': 'compute latest' });
    assert.equal(r.headers.get('openstack-api-version'), 'compute 2.79');
    r = await h({ 'OpenStack-API-Version': 'compute 2.92' });
    assert.equal(r.status, 406);
    assert.deepEqual(r.body, { computeFault: { code: 406, message: 'Version 2.92 is not supported by the API. Minimum is 2.1 and maximum is 2.79.' } });
    r = await h({ 'X-OpenStack-Nova-API-Version': '2.x' });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body), /badRequest.*API Version String 2.x is of invalid format/);
    const discovery = await c.api<{ versions: { id: string; status: string; version: string; min_version: string }[] }>('GET', '/compute/');
    assert.deepEqual(
      discovery.body.versions.map((v) => [v.id, v.status, v.version, v.min_version]),
      [
        ['v2.0', 'SUPPORTED', '', ''],
        ['v2.1', 'CURRENT', '2.79', '2.1'],
      ],
    );
    // The CLI's "2.latest" asks for its own maximum (2.92) without discovery: a clean 406.
    const cli = await c.openstack(['--os-compute-api-version', '2.latest', 'server', 'list'], demo);
    assert.notEqual(cli.code, 0);
    // Not a bare /500/: request ids are random hex and contain it now and then.
    assert.doesNotMatch(cli.stderr, /Traceback|HTTP 5\d\d/);
    // And openstacksdk's own negotiation picks min(its max, 2.79) and works.
    assert.ok(Array.isArray(await c.osJson(['--os-compute-api-version', '2.79', 'flavor', 'list'], demo)));
  });
});
