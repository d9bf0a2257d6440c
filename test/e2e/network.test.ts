import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Neutron through Debian's `openstack` CLI (and raw HTTP where the CLI
 * cannot send what we test): the all-in-one topology the seed builds, its
 * teardown, the in-use conflicts, project isolation and bad input.
 */

type Obj = Record<string, unknown>;
interface NeutronErrorBody {
  NeutronError?: { type: string; message: string; detail: string };
}

describe('Neutron v2.0 with the openstack CLI', () => {
  let c: TestCloud;
  let adminToken: string;
  let demoToken: string;
  let otherToken: string;

  const admin = <T = Obj>(args: string[]) => c.osJson<T>(args, { cloud: 'stacklet-admin' });
  const demo = <T = Obj>(args: string[]) => c.osJson<T>(args, { cloud: 'stacklet' });
  /** Runs a CLI command that must fail; returns its stderr. */
  const fails = async (args: string[], cloud = 'stacklet') => {
    const r = await c.openstack(args, { cloud });
    assert.notEqual(r.code, 0, `expected failure: openstack ${args.join(' ')}\n${r.stdout}`);
    return r.stderr;
  };
  const api = <T = Obj>(method: string, path: string, token: string, body?: unknown) =>
    c.api<T & NeutronErrorBody>(method, `/network/v2.0${path}`, { token, ...(body === undefined ? {} : { body }) });

  /** How many of each thing demo and admin see, to prove the teardown leaves nothing. */
  async function census(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const what of ['networks', 'subnets', 'ports', 'routers', 'floatingips', 'security-group-rules']) {
      const r = await api<Obj>('GET', `/${what}`, adminToken);
      const key = what.replaceAll('-', '_');
      out[what] = (r.body[key] as unknown[]).length;
    }
    return out;
  }

  before(async () => {
    c = await TestCloud.start();
    adminToken = await c.token('admin');
    demoToken = await c.token('demo');
    await c.os(['project', 'create', 'other']);
    await c.os(['user', 'create', '--password', 'other-pass', '--project', 'other', 'other']);
    await c.os(['role', 'add', '--user', 'other', '--project', 'other', 'member']);
    otherToken = await c.token({ user: 'other', password: 'other-pass', project: 'other' });
  });
  after(async () => c?.stop());

  test('discovery: versions, resources and exactly the implemented extensions', async () => {
    const v = await c.api<{ versions: { id: string; status: string }[] }>('GET', '/network');
    assert.equal(v.status, 200);
    assert.deepEqual(v.body.versions.map((x) => [x.id, x.status]), [['v2.0', 'CURRENT']]);
    const ext = await demo<{ Alias: string }[]>(['extension', 'list', '--network']);
    const aliases = ext.map((e) => e.Alias);
    for (const a of ['external-net', 'router', 'ext-gw-mode', 'extraroute', 'security-group', 'port-security', 'allowed-address-pairs', 'quotas', 'quota_details', 'standard-attr-tag', 'binding', 'net-mtu', 'provider', 'network-ip-availability', 'pagination', 'sorting']) {
      assert.ok(aliases.includes(a), `missing extension ${a}`);
    }
    assert.ok(!aliases.includes('dhcp_agent_scheduler'));
    const one = await demo(['extension', 'show', 'router']);
    assert.equal(one['alias'], 'router');
    const missing = await api('GET', '/extensions/nope', demoToken);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.NeutronError?.type, 'ExtensionNotFound');
  });

  test('the seed topology by script, its conflicts, isolation, then a teardown that leaves nothing', async () => {
    const start = await census();

    const pub = await admin(['network', 'create', 'public', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'public']);
    assert.equal(pub['router:external'], true);
    assert.equal(pub['mtu'], 1500);
    assert.equal(pub['provider:network_type'], 'flat');
    const pubSub = await admin([
      'subnet', 'create', '--network', 'public', '--subnet-range', '172.24.4.0/24',
      '--allocation-pool', 'start=172.24.4.130,end=172.24.4.138', '--gateway', '172.24.4.1', '--no-dhcp', 'public-subnet',
    ]);
    assert.equal(pubSub['gateway_ip'], '172.24.4.1');
    assert.equal(pubSub['enable_dhcp'], false);

    const priv = await demo(['network', 'create', 'private']);
    assert.equal(priv['mtu'], 1450);
    assert.equal(priv['status'], 'ACTIVE');
    const privRaw = await api<{ network: Obj }>('GET', `/networks/${String(priv['id'])}`, demoToken);
    assert.ok(!('provider:network_type' in privRaw.body.network), 'provider attributes are admin-only');
    const privAdmin = await api<{ network: Obj }>('GET', `/networks/${String(priv['id'])}`, adminToken);
    assert.equal(privAdmin.body.network['provider:network_type'], 'vxlan');
    assert.ok(Number(privAdmin.body.network['provider:segmentation_id']) >= 1000);
    const privSub = await demo(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet']);
    assert.deepEqual(privSub['allocation_pools'], [{ start: '10.0.0.2', end: '10.0.0.254' }]);
    assert.equal(privSub['gateway_ip'], '10.0.0.1');

    const r1 = await demo(['router', 'create', 'r1']);
    await c.os(['router', 'set', 'r1', '--external-gateway', 'public'], { cloud: 'stacklet' });
    await c.os(['router', 'add', 'subnet', 'r1', 'private-subnet'], { cloud: 'stacklet' });
    const r1Shown = await demo(['router', 'show', 'r1']);
    const gw = r1Shown['external_gateway_info'] as { network_id: string; enable_snat: boolean; external_fixed_ips: { ip_address: string }[] };
    assert.equal(gw.network_id, pub['id']);
    assert.equal(gw.enable_snat, true);
    assert.equal(gw.external_fixed_ips[0]?.ip_address, '172.24.4.130');
    const ifaces = r1Shown['interfaces_info'] as { ip_address: string; subnet_id: string }[];
    assert.deepEqual(ifaces.map((i) => [i.ip_address, i.subnet_id]), [['10.0.0.1', privSub['id']]]);

    const p1 = await demo(['port', 'create', '--network', 'private', 'p1']);
    assert.equal(p1['status'], 'DOWN');
    assert.match(String(p1['mac_address']), /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    const p1Ip = (p1['fixed_ips'] as { ip_address: string }[])[0]?.ip_address ?? '';
    assert.match(p1Ip, /^10\.0\.0\.\d+$/);
    assert.equal((p1['security_group_ids'] as string[]).length, 1, 'the default group');

    const fip = await demo(['floating', 'ip', 'create', 'public']);
    const fipAddr = String(fip['floating_ip_address']);
    assert.match(fipAddr, /^172\.24\.4\.13[1-8]$/);
    assert.equal(fip['status'], 'DOWN');
    await c.os(['floating', 'ip', 'set', '--port', 'p1', fipAddr], { cloud: 'stacklet' });
    const fipShown = await demo(['floating', 'ip', 'show', fipAddr]);
    assert.equal(fipShown['port_id'], p1['id']);
    assert.equal(fipShown['fixed_ip_address'], p1Ip);
    assert.equal(fipShown['router_id'], r1['id']);

    const icmp = await demo(['security', 'group', 'rule', 'create', '--protocol', 'icmp', 'default']);
    const ssh = await demo(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default']);
    assert.equal(ssh['port_range_min'], 22);
    assert.equal(ssh['port_range_max'], 22);
    const dup = await fails(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default']);
    assert.match(dup, /Security group rule already exists/);
    const rules = await demo<Obj[]>(['security', 'group', 'rule', 'list', 'default']);
    assert.equal(rules.length, 6, 'four default rules and the two added');

    // The public pool holds 9 addresses: the router has one, p1's floating IP one, 7 more fit, then a clear 409.
    const extra: string[] = [];
    for (let i = 0; i < 7; i++) extra.push(String((await demo(['floating', 'ip', 'create', 'public']))['id']));
    const full = await fails(['floating', 'ip', 'create', 'public']);
    assert.match(full, /409/);
    assert.match(full, /No more IP addresses available on network/);
    for (const id of extra) await c.os(['floating', 'ip', 'delete', id], { cloud: 'stacklet' });

    // In use: each refusal says why.
    assert.match(await fails(['network', 'delete', 'private']), /409.*There are one or more ports still in use on the network/s);
    assert.match(await fails(['subnet', 'delete', 'private-subnet']), /409.*One or more ports have an IP allocation from this subnet/s);
    assert.match(await fails(['router', 'delete', 'r1']), /409.*still has ports/s);
    const sg = await demo(['security', 'group', 'create', 'web']);
    await c.os(['port', 'set', '--security-group', 'web', 'p1'], { cloud: 'stacklet' });
    assert.match(await fails(['security', 'group', 'delete', 'web']), /409.*in use/s);
    assert.match(await fails(['security', 'group', 'delete', 'default']), /409.*default security group/s);
    assert.match(await fails(['router', 'unset', '--external-gateway', 'r1']), /409.*required by one or more floating IPs/s);
    assert.match(await fails(['router', 'remove', 'subnet', 'r1', 'private-subnet']), /409.*required by one or more floating IPs/s);
    const legId = (r1Shown['interfaces_info'] as { port_id: string }[])[0]?.port_id ?? '';
    assert.match(await fails(['port', 'delete', legId]), /409.*cannot be deleted directly/s);

    // Isolation: another project sees none of it (404), except the external network.
    for (const path of [`/networks/${String(priv['id'])}`, `/subnets/${String(privSub['id'])}`, `/ports/${String(p1['id'])}`, `/routers/${String(r1['id'])}`, `/floatingips/${String(fip['id'])}`, `/security-groups/${String(sg['id'])}`]) {
      const r = await api('GET', path, otherToken);
      assert.equal(r.status, 404, path);
      assert.match(r.body.NeutronError?.type ?? '', /NotFound$/);
    }
    const otherNets = await api<{ networks: { id: string }[] }>('GET', '/networks', otherToken);
    assert.deepEqual(otherNets.body.networks.map((n) => n.id), [pub['id']]);
    const otherPort = await api('POST', '/ports', otherToken, { port: { network_id: priv['id'] } });
    assert.equal(otherPort.status, 404);
    const onPublic = await api('POST', '/ports', otherToken, { port: { network_id: pub['id'] } });
    assert.equal(onPublic.status, 403, 'ports on an external network are admin-only');
    const stealFip = await api('PUT', `/floatingips/${String(fip['id'])}`, otherToken, { floatingip: { port_id: null } });
    assert.equal(stealFip.status, 404);
    const otherFip = await api<{ floatingip: { floating_ip_address: string } }>('POST', '/floatingips', otherToken, { floatingip: { floating_network_id: pub['id'] } });
    assert.equal(otherFip.status, 201, 'anyone may allocate from an external network');
    const bind = await api('PUT', `/floatingips/${String((otherFip.body as unknown as { floatingip: { id: string } }).floatingip.id)}`, otherToken, {
      floatingip: { port_id: p1['id'] },
    });
    assert.equal(bind.status, 404);
    assert.equal((await api('DELETE', `/floatingips/${String((otherFip.body as unknown as { floatingip: { id: string } }).floatingip.id)}`, otherToken)).status, 204);

    // Teardown in reverse, with list/show/unset along the way.
    await c.os(['port', 'unset', '--security-group', 'web', 'p1'], { cloud: 'stacklet' });
    await c.os(['security', 'group', 'delete', 'web'], { cloud: 'stacklet' });
    await c.os(['security', 'group', 'rule', 'delete', String(ssh['id']), String(icmp['id'])], { cloud: 'stacklet' });
    await c.os(['floating', 'ip', 'unset', '--port', fipAddr], { cloud: 'stacklet' });
    assert.equal((await demo(['floating', 'ip', 'show', fipAddr]))['port_id'], null);
    await c.os(['floating', 'ip', 'delete', fipAddr], { cloud: 'stacklet' });
    await c.os(['port', 'delete', 'p1'], { cloud: 'stacklet' });
    await c.os(['router', 'remove', 'subnet', 'r1', 'private-subnet'], { cloud: 'stacklet' });
    await c.os(['router', 'unset', '--external-gateway', 'r1'], { cloud: 'stacklet' });
    assert.equal((await demo(['router', 'show', 'r1']))['external_gateway_info'], null);
    await c.os(['router', 'delete', 'r1'], { cloud: 'stacklet' });
    await c.os(['subnet', 'delete', 'private-subnet'], { cloud: 'stacklet' });
    await c.os(['network', 'delete', 'private'], { cloud: 'stacklet' });
    await c.os(['subnet', 'delete', 'public-subnet']);
    await c.os(['network', 'delete', 'public']);

    const end = await census();
    // The default groups (made on first use) keep their rules; nothing else is left behind.
    const defaultRules = (await api<{ security_group_rules: unknown[] }>('GET', '/security-group-rules', adminToken)).body.security_group_rules.length;
    assert.deepEqual({ ...end, 'security-group-rules': 0 }, { ...start, 'security-group-rules': 0 });
    assert.equal(defaultRules % 4, 0, 'only the four default rules of each default group remain');
  });

  test('bad input: a NeutronError with the right status, never a 500', async () => {
    const net = await api<{ network: { id: string } }>('POST', '/networks', demoToken, { network: { name: 'bad-input' } });
    assert.equal(net.status, 201);
    const netId = net.body.network.id;
    const subnet = (body: Obj) => api('POST', '/subnets', demoToken, { subnet: { network_id: netId, ip_version: 4, ...body } });
    const cases: [string, Promise<{ status: number; body: NeutronErrorBody }>, number, RegExp][] = [
      ['invalid CIDR', subnet({ cidr: '10.0.0.0/33' }), 400, /not a valid IP subnet/],
      ['not a CIDR', subnet({ cidr: 'banana' }), 400, /not a valid IP subnet/],
      ['gateway outside', subnet({ cidr: '10.1.0.0/24', gateway_ip: '10.2.0.1' }), 400, /outside subnet/],
      ['pools overlap', subnet({ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.10', end: '10.1.0.20' }, { start: '10.1.0.15', end: '10.1.0.30' }] }), 409, /overlapping allocation pools/],
      ['pool holds gateway', subnet({ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.1', end: '10.1.0.20' }] }), 409, /conflicts with allocation pool/],
      ['wrong type', subnet({ cidr: 10 }), 400, /cidr/],
      ['unknown attribute', subnet({ cidr: '10.1.0.0/24', color: 'red' }), 400, /color/],
    ];
    for (const [name, p, status, msg] of cases) {
      const r = await p;
      assert.equal(r.status, status, name);
      assert.ok(r.body.NeutronError, `${name}: NeutronError body`);
      assert.match(r.body.NeutronError.message, msg, name);
    }
    const ok = await subnet({ cidr: '10.1.0.0/24' });
    assert.equal(ok.status, 201);
    const overlapping = await subnet({ cidr: '10.1.0.128/25' });
    assert.equal(overlapping.status, 400);
    assert.match(overlapping.body.NeutronError?.message ?? '', /overlaps with another subnet/);
    const subId = (ok.body as unknown as { subnet: { id: string } }).subnet.id;

    const port = (body: Obj) => api('POST', '/ports', demoToken, { port: { network_id: netId, ...body } });
    const outside = await port({ fixed_ips: [{ subnet_id: subId, ip_address: '10.9.9.9' }] });
    assert.equal(outside.status, 400);
    assert.equal(outside.body.NeutronError?.type, 'InvalidIpForSubnet');
    const taken1 = await port({ fixed_ips: [{ subnet_id: subId, ip_address: '10.1.0.50' }] });
    assert.equal(taken1.status, 201);
    const taken2 = await port({ fixed_ips: [{ ip_address: '10.1.0.50' }] });
    assert.equal(taken2.status, 409);
    assert.equal(taken2.body.NeutronError?.type, 'IpAddressAlreadyAllocated');
    const badMac = await port({ mac_address: 'zz:zz' });
    assert.equal(badMac.status, 400);
    assert.equal((await port({ network_id: 'no-such-network' })).status, 404);

    // Overlapping subnets on one router.
    const net2 = await api<{ network: { id: string } }>('POST', '/networks', demoToken, { network: { name: 'bad-input-2' } });
    const sub2 = await api<{ subnet: { id: string } }>('POST', '/subnets', demoToken, { subnet: { network_id: net2.body.network.id, ip_version: 4, cidr: '10.1.0.0/16' } });
    const router = await api<{ router: { id: string } }>('POST', '/routers', demoToken, { router: { name: 'bad-input' } });
    const rid = router.body.router.id;
    assert.equal((await api('PUT', `/routers/${rid}/add_router_interface`, demoToken, { subnet_id: subId })).status, 200);
    const clash = await api('PUT', `/routers/${rid}/add_router_interface`, demoToken, { subnet_id: sub2.body.subnet.id });
    assert.equal(clash.status, 400);
    assert.match(clash.body.NeutronError?.message ?? '', /overlaps with cidr/);

    // Security group rules.
    const groups = await api<{ security_groups: { id: string; name: string }[] }>('GET', '/security-groups', demoToken);
    const def = groups.body.security_groups.find((g) => g.name === 'default');
    assert.ok(def);
    const rule = (body: Obj) => api('POST', '/security-group-rules', demoToken, { security_group_rule: { security_group_id: def.id, direction: 'ingress', ...body } });
    const unknownProto = await rule({ protocol: 'teleport' });
    assert.equal(unknownProto.status, 400);
    assert.equal(unknownProto.body.NeutronError?.type, 'SecurityGroupRuleInvalidProtocol');
    const minMax = await rule({ protocol: 'tcp', port_range_min: 100, port_range_max: 10 });
    assert.equal(minMax.status, 400);
    assert.equal(minMax.body.NeutronError?.type, 'SecurityGroupInvalidPortRange');
    assert.equal((await rule({ direction: 'sideways' })).status, 400);
    assert.equal((await rule({ remote_ip_prefix: '300.0.0.0/8' })).status, 400);
    const cli = await fails(['security', 'group', 'rule', 'create', '--protocol', 'teleport', 'default']);
    assert.match(cli, /400.*protocol teleport not supported/s);

    // Malformed JSON and a body that is not an object.
    const raw = await c.api('POST', '/network/v2.0/networks', { token: demoToken, body: '{"network": ', headers: { 'content-type': 'application/json' } });
    assert.equal(raw.status, 400);
    assert.ok((raw.body as NeutronErrorBody).NeutronError);

    assert.equal((await api('PUT', `/routers/${rid}/remove_router_interface`, demoToken, { subnet_id: subId })).status, 200);
    for (const [path] of [[`/routers/${rid}`], [`/networks/${net2.body.network.id}`]]) assert.equal((await api('DELETE', path ?? '', demoToken)).status, 204);
  });

  test('50 concurrent port creates on one /24 get 50 distinct addresses (HTTP)', async () => {
    const net = await api<{ network: { id: string } }>('POST', '/networks', demoToken, { network: { name: 'busy' } });
    const sub = await api<{ subnet: { id: string } }>('POST', '/subnets', demoToken, { subnet: { network_id: net.body.network.id, ip_version: 4, cidr: '192.168.77.0/24' } });
    assert.equal(sub.status, 201);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => api<{ port: { fixed_ips: { ip_address: string }[] } }>('POST', '/ports', demoToken, { port: { network_id: net.body.network.id, name: `busy-${i}` } })),
    );
    assert.deepEqual([...new Set(results.map((r) => r.status))], [201]);
    const ips = results.map((r) => r.body.port.fixed_ips[0]?.ip_address);
    assert.equal(new Set(ips).size, 50);
    const avail = await api<{ network_ip_availability: { used_ips: number; total_ips: number } }>('GET', `/network-ip-availabilities/${net.body.network.id}`, adminToken);
    assert.equal(avail.body.network_ip_availability.total_ips, 253);
    assert.equal(avail.body.network_ip_availability.used_ips, 51, '50 ports and the DHCP port');
    assert.equal((await api('GET', `/network-ip-availabilities/${net.body.network.id}`, demoToken)).status, 403);
  });

  test('quotas: show, set, exceed with OverQuota, reset', async () => {
    const pid = String((await demo(['project', 'show', 'demo']))['id'] ?? '');
    const details = await api<{ quota: Record<string, { used: number; limit: number; reserved: number }> }>('GET', `/quotas/${pid}/details`, adminToken);
    assert.equal(details.status, 200);
    assert.equal(details.body.quota['router']?.limit, 10);
    // `openstack quota set` also needs a compute endpoint; the network part is this PUT.
    const set = await api('PUT', `/quotas/${pid}`, adminToken, { quota: { router: (details.body.quota['router']?.used ?? 0) + 1 } });
    assert.equal(set.status, 200);
    const listed = await c.osJson<{ 'Project ID': string; Routers: number }[]>(['quota', 'list', '--network']);
    assert.equal(listed.find((q) => q['Project ID'] === pid)?.Routers, (details.body.quota['router']?.used ?? 0) + 1);
    const shown = await api<{ quota: Record<string, number> }>('GET', `/quotas/${pid}`, demoToken);
    assert.equal(shown.body.quota['router'], (details.body.quota['router']?.used ?? 0) + 1);
    const ok = await api<{ router: { id: string } }>('POST', '/routers', demoToken, { router: { name: 'q1' } });
    assert.equal(ok.status, 201);
    const over = await api('POST', '/routers', demoToken, { router: { name: 'q2' } });
    assert.equal(over.status, 409);
    assert.equal(over.body.NeutronError?.type, 'OverQuota');
    assert.match(over.body.NeutronError?.message ?? '', /router/);
    assert.equal((await api('PUT', `/quotas/${pid}`, demoToken, { quota: { router: 100 } })).status, 403);
    assert.equal((await api('PUT', `/quotas/${pid}`, adminToken, { quota: { router: 'lots' } })).status, 400);
    assert.equal((await api('DELETE', `/quotas/${pid}`, adminToken)).status, 204);
    assert.equal((await api<{ quota: Record<string, number> }>('GET', `/quotas/${pid}`, demoToken)).body.quota['router'], 10);
    assert.equal((await api('GET', `/quotas/${pid}`, otherToken)).status, 404);
    await api('DELETE', `/routers/${ok.body.router.id}`, demoToken);
  });

  test('tags, filters, fields, sorting, pagination and revision If-Match', async () => {
    const made: string[] = [];
    for (const name of ['pg-c', 'pg-a', 'pg-b']) {
      made.push(String((await demo(['network', 'create', '--tag', 'pg', '--tag', name, name]))['id']));
    }
    const tagged = await demo<{ Name: string }[]>(['network', 'list', '--tags', 'pg', '--sort-column', 'Name']);
    assert.deepEqual(tagged.map((n) => n.Name), ['pg-a', 'pg-b', 'pg-c']);
    const page1 = await api<{ networks: { name: string }[]; networks_links: { rel: string; href: string }[] }>(
      'GET', '/networks?tags=pg&sort_key=name&sort_dir=asc&limit=2&fields=id&fields=name', demoToken,
    );
    assert.deepEqual(page1.body.networks.map((n) => n.name), ['pg-a', 'pg-b']);
    assert.deepEqual(Object.keys(page1.body.networks[0] ?? {}).sort(), ['id', 'name']);
    const next = page1.body.networks_links.find((l) => l.rel === 'next');
    assert.ok(next);
    const page2 = await c.api<{ networks: { name: string }[] }>('GET', new URL(next.href).pathname + new URL(next.href).search, { token: demoToken });
    assert.deepEqual(page2.body.networks.map((n) => n.name), ['pg-c']);
    const any = await api<{ networks: unknown[] }>('GET', '/networks?tags-any=pg-a,pg-b', demoToken);
    assert.equal(any.body.networks.length, 2);
    const id = made[0] ?? '';
    assert.equal((await api('PUT', `/networks/${id}/tags/extra`, demoToken)).status, 201);
    assert.deepEqual((await api<{ tags: string[] }>('GET', `/networks/${id}/tags`, demoToken)).body.tags.sort(), ['extra', 'pg', 'pg-c']);
    assert.equal((await api('DELETE', `/networks/${id}/tags/nope`, demoToken)).status, 404);
    const shown = await api<{ network: { revision_number: number } }>('GET', `/networks/${id}`, demoToken);
    const rev = shown.body.network.revision_number;
    const stale = await c.api('PUT', `/network/v2.0/networks/${id}`, { token: demoToken, body: { network: { name: 'x' } }, headers: { 'if-match': `revision_number=${rev - 1}` } });
    assert.equal(stale.status, 412);
    const fresh = await c.api<{ network: { revision_number: number } }>('PUT', `/network/v2.0/networks/${id}`, {
      token: demoToken,
      body: { network: { description: 'updated' } },
      headers: { 'if-match': `revision_number=${rev}` },
    });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.network.revision_number, rev + 1);
    for (const n of made) await api('DELETE', `/networks/${n}`, demoToken);
  });

  test('readers read and may not write; non-admins may not make external or provider networks', async () => {
    await c.os(['user', 'create', '--password', 'r-pass', 'peek']);
    await c.os(['role', 'add', '--user', 'peek', '--project', 'demo', 'reader']);
    const readerToken = await c.token({ user: 'peek', password: 'r-pass', project: 'demo' });
    assert.equal((await api('GET', '/networks', readerToken)).status, 200);
    assert.equal((await api('POST', '/networks', readerToken, { network: { name: 'nope' } })).status, 403);
    const ext = await api('POST', '/networks', demoToken, { network: { name: 'x', 'router:external': true } });
    assert.equal(ext.status, 403);
    assert.equal(ext.body.NeutronError?.type, 'PolicyNotAuthorized');
    const prov = await api('POST', '/networks', demoToken, { network: { name: 'x', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 1500 } });
    assert.equal(prov.status, 403);
    assert.match(await fails(['network', 'create', '--external', 'nope']), /403|disallowed by policy/);
  });
});
