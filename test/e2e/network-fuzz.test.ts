import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Random requests over every Neutron route: whatever a client sends, the
 * answer is a 2xx or a 4xx with a NeutronError body, never a 5xx, and the
 * cloud still works afterwards.
 */

type Row = Record<string, unknown>;

const ROUTES: [string[], string][] = [
  [['GET', 'POST'], '/network/v2.0/networks'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/networks/:network'],
  [['GET', 'POST'], '/network/v2.0/subnets'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/subnets/:subnet'],
  [['GET', 'POST'], '/network/v2.0/ports'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/ports/:port'],
  [['GET', 'POST'], '/network/v2.0/routers'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/routers/:router'],
  [['PUT'], '/network/v2.0/routers/:router/add_router_interface'],
  [['PUT'], '/network/v2.0/routers/:router/remove_router_interface'],
  [['PUT'], '/network/v2.0/routers/:router/add_extraroutes'],
  [['PUT'], '/network/v2.0/routers/:router/remove_extraroutes'],
  [['GET', 'POST'], '/network/v2.0/floatingips'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/floatingips/:fip'],
  [['GET', 'POST'], '/network/v2.0/security-groups'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/security-groups/:sg'],
  [['GET', 'POST'], '/network/v2.0/security-group-rules'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/security-group-rules/:rule'],
  [['GET'], '/network/v2.0/quotas'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/quotas/:project'],
  [['GET'], '/network/v2.0/quotas/:project/details'],
  [['GET'], '/network/v2.0/quotas/:project/default'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/networks/:network/tags'],
  [['GET', 'PUT', 'DELETE'], '/network/v2.0/ports/:port/tags/:tag'],
  [['GET'], '/network/v2.0/network-ip-availabilities'],
  [['GET'], '/network/v2.0/network-ip-availabilities/:network'],
  [['GET'], '/network/v2.0/extensions/:tag'],
  [['GET'], '/network/v2.0/availability_zones'],
];

const FIELDS = [
  'name', 'description', 'network_id', 'subnet_id', 'port_id', 'ip_version', 'cidr', 'gateway_ip', 'allocation_pools', 'dns_nameservers',
  'host_routes', 'enable_dhcp', 'fixed_ips', 'mac_address', 'security_groups', 'port_security_enabled', 'allowed_address_pairs',
  'device_id', 'device_owner', 'binding:host_id', 'binding:profile', 'external_gateway_info', 'routes', 'floating_network_id',
  'floating_ip_address', 'fixed_ip_address', 'security_group_id', 'direction', 'ethertype', 'protocol', 'port_range_min',
  'port_range_max', 'remote_ip_prefix', 'remote_group_id', 'shared', 'router:external', 'mtu', 'provider:network_type',
  'provider:physical_network', 'provider:segmentation_id', 'admin_state_up', 'tags', 'project_id', 'tenant_id', 'stateful', 'network',
];
const QUERY_KEYS = ['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'name', 'id', 'tags', 'tags-any', 'not-tags', 'fixed_ips', 'admin_state_up', 'mtu', 'network_id', 'shared'];
const BODY_KEYS = ['network', 'subnet', 'port', 'router', 'floatingip', 'security_group', 'security_group_rule', 'quota', 'tags'];

describe('Neutron fuzz', () => {
  let c: TestCloud;
  before(async () => {
    c = await TestCloud.start();
  });
  after(async () => c?.stop());

  test('random requests over the Neutron routes never get a 5xx, always a NeutronError on 4xx', async (t) => {
    const admin = await c.token('admin');
    const demo = await c.token('demo');
    const mk = async (token: string, path: string, key: string, body: Row): Promise<Row> => {
      const r = await c.api<Record<string, Row>>('POST', `/network/v2.0/${path}`, { token, body: { [key]: body } });
      assert.equal(r.status, 201, r.text);
      return r.body[key] ?? {};
    };
    const pub = await mk(admin, 'networks', 'network', { name: 'fz-public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'public' });
    await mk(admin, 'subnets', 'subnet', { network_id: pub['id'], ip_version: 4, cidr: '172.30.0.0/24', enable_dhcp: false });
    const net = await mk(demo, 'networks', 'network', { name: 'fz-net' });
    const subnet = await mk(demo, 'subnets', 'subnet', { network_id: net['id'], ip_version: 4, cidr: '10.66.0.0/24' });
    const port = await mk(demo, 'ports', 'port', { network_id: net['id'] });
    const router = await mk(demo, 'routers', 'router', { name: 'fz-r', external_gateway_info: { network_id: pub['id'] } });
    const fip = await mk(demo, 'floatingips', 'floatingip', { floating_network_id: pub['id'] });
    const sg = await mk(demo, 'security-groups', 'security_group', { name: 'fz-sg' });
    const rule = await mk(demo, 'security-group-rules', 'security_group_rule', { security_group_id: sg['id'], direction: 'ingress', protocol: 'tcp' });
    const project = String(port['project_id']);

    const real: Record<string, string> = {
      network: String(net['id']), subnet: String(subnet['id']), port: String(port['id']), router: String(router['id']), fip: String(fip['id']),
      sg: String(sg['id']), rule: String(rule['id']), project, tag: 'router', public: String(pub['id']),
    };
    const weird = fc.oneof(
      fc.constantFrom('..', '%00', '%2F', ' ', 'null', '-1', 'é', 'a'.repeat(300), '00000000-0000-0000-0000-000000000000'),
      fc.string({ maxLength: 30 }).map(encodeURIComponent),
    );
    const param = (kind: string) => fc.oneof({ weight: 3, arbitrary: fc.constant(real[kind] ?? 'x') }, { weight: 1, arbitrary: weird });
    const route = fc.constantFrom(...ROUTES).chain(([methods, tpl]) => {
      const kinds = [...tpl.matchAll(/:(\w+)/g)].map((m) => m[1] ?? '');
      return fc.tuple(
        fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...methods) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') }),
        fc.tuple(...kinds.map(param)).map((vals) => {
          let i = 0;
          return tpl.replace(/:(\w+)/g, () => vals[i++] ?? '');
        }),
      );
    });
    const ipish = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.66.0.5', '10.66.0.0/24', '172.30.0.9', '0.0.0.0/0', '10.66.0.300', '::/0'));
    const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.boolean(), fc.integer({ min: -5, max: 70000 }), fc.double(), fc.constant(null), ipish);
    const ref = fc.constantFrom(...Object.values(real));
    const fieldValue = fc.oneof(
      { weight: 3, arbitrary: scalar },
      { weight: 2, arbitrary: ref },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
      { weight: 1, arbitrary: fc.array(fc.record({ subnet_id: fc.oneof(ref, scalar), ip_address: ipish }, { requiredKeys: [] }), { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.array(fc.record({ start: ipish, end: ipish }), { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.array(fc.record({ destination: ipish, nexthop: ipish }), { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.record({ network_id: fc.oneof(ref, scalar), enable_snat: fc.boolean() }, { requiredKeys: [] }) },
    );
    const resource = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }), fieldValue, { maxKeys: 6 });
    // Half the time a plausible body for the route's resource: a valid base with a few random attributes over it.
    const BASE: Record<string, Row> = {
      networks: { network: { name: 'fz' } },
      subnets: { subnet: { network_id: real['network'], ip_version: 4 } },
      ports: { port: { network_id: real['network'] } },
      routers: { router: { name: 'fz' } },
      floatingips: { floatingip: { floating_network_id: real['public'] } },
      'security-groups': { security_group: { name: 'fz' } },
      'security-group-rules': { security_group_rule: { security_group_id: real['sg'], direction: 'ingress' } },
      add_router_interface: {},
      remove_router_interface: {},
      add_extraroutes: { router: {} },
      remove_extraroutes: { router: {} },
      quotas: { quota: {} },
      tags: { tags: [] },
    };
    const cidr = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 16, max: 30 })).map(([x, len]) => `10.${x}.0.0/${len}`);
    const plausible = (path: string): fc.Arbitrary<unknown> => {
      const segs = path.split('/').filter(Boolean);
      const name = [...segs].reverse().find((seg) => seg in BASE);
      const base = name === undefined ? undefined : BASE[name];
      if (!base) return fc.constant(undefined);
      const [key, inner] = Object.entries(base)[0] ?? ['', {}];
      const extra = name === 'subnets' ? fc.record({ cidr }) : fc.constant({});
      const over = fc.oneof(
        { weight: 3, arbitrary: fc.constant({}) },
        { weight: 2, arbitrary: resource.map((o) => Object.fromEntries(Object.entries(o).slice(0, 1))) },
        { weight: 1, arbitrary: resource },
      );
      return fc.tuple(over, extra).map(([picked, ex]) => {
        if (key === '') return { ...(name === 'add_router_interface' || name === 'remove_router_interface' ? { subnet_id: real['subnet'] } : {}), ...picked };
        return { [key]: { ...(inner as Row), ...ex, ...picked } };
      });
    };
    const body: fc.Arbitrary<unknown> = fc.oneof(
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...BODY_KEYS), resource).map(([k, v]) => ({ [k]: v }) as unknown) },
      { weight: 2, arbitrary: resource as fc.Arbitrary<unknown> },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<unknown> },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => ({ raw: s })) },
    );
    const query = fc.dictionary(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom('true', 'False', '1', '', 'x', 'name', 'id', 'asc', 'desc', '2', 'ip_address=10.66.0.3', 'subnet_id=x'), fc.string({ maxLength: 12 }), ref),
      { maxKeys: 4 },
    );
    const token = fc.constantFrom<string | undefined>(admin, admin, demo, demo, demo, undefined, 'garbage');

    const statuses = new Map<number, number>();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(route.chain((r) => fc.tuple(fc.constant(r), fc.oneof({ weight: 1, arbitrary: body }, { weight: 2, arbitrary: plausible(r[1]) }))), query, token, async ([[method, path], b], q, tok) => {
        runs++;
        const qs = new URLSearchParams(q).toString();
        const headers: Record<string, string> = {};
        let sent: unknown = b;
        if (b !== null && typeof b === 'object' && 'raw' in b && Object.keys(b).length === 1) {
          sent = String((b as { raw: string }).raw);
          headers['content-type'] = 'application/json';
        }
        if (method === 'GET') sent = undefined;
        const r = await c.api(method, `${path}${qs ? `?${qs}` : ''}`, { ...(tok !== undefined ? { token: tok } : {}), body: sent, headers });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        const what = `${method} ${path}?${qs} ${JSON.stringify(sent)?.slice(0, 300)} -> ${r.status} ${r.text.slice(0, 300)}`;
        assert.ok(r.status < 500, what);
        if (r.status >= 400) {
          const e = (r.body as { NeutronError?: { type?: unknown; message?: unknown; detail?: unknown } } | undefined)?.NeutronError;
          assert.ok(e && typeof e.type === 'string' && typeof e.message === 'string' && typeof e.detail === 'string', what);
        }
      }),
      { numRuns: 1500, plugins: [fc.interruptAfterTimeLimit(90_000)], endOnFailure: true },
    );
    t.diagnostic(`${runs} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses.entries()].sort((a, b) => a[0] - b[0])))}`);
    assert.ok(runs >= 300, `only ${runs} runs in the time allowed`);

    // Still consistent: the admin lists everything, and no address is held twice.
    const ports = await c.api<{ ports: { fixed_ips: { subnet_id: string; ip_address: string }[] }[] }>('GET', '/network/v2.0/ports', { token: admin });
    assert.equal(ports.status, 200);
    const held = ports.body.ports.flatMap((p) => p.fixed_ips.map((f) => `${f.subnet_id} ${f.ip_address}`));
    assert.equal(new Set(held).size, held.length);
    assert.equal((await c.api('GET', '/healthz')).status, 200);
  });
});
