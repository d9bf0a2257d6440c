import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuthContext } from '../auth.js';
import { CloudError } from '../errors.js';
import { openStore, type OpenedStore } from '../../store/db.js';
import type { ChangeEvent } from '../../store/changes.js';
import { networkStoreOf } from '../../store/network/store.js';
import { NetworkTopology } from '../../store/network/topology.js';
import type { Caller } from './access.js';
import type { NetCore } from './core.js';
import { createFloatingIp, updateFloatingIp } from './floatingips.js';
import { createNetwork, deleteNetwork } from './networks.js';
import { createPort, deletePort } from './ports.js';
import { addInterface, createRouter, updateRouter } from './routers.js';
import { DEFAULT_NETWORK_SETTINGS } from './settings.js';
import { createSubnet } from './subnets.js';

function caller(projectId: string, admin = false): Caller {
  const auth: AuthContext = {
    token: 't',
    userId: 'u',
    userName: 'u',
    userDomainId: 'default',
    userDomainName: 'Default',
    projectId,
    roles: [],
    methods: ['password'],
    auditIds: [],
    issuedAt: '',
    expiresAt: '',
    isAdmin: admin,
    isMember: true,
    isReader: true,
  };
  return { auth, projectId, isAdmin: admin };
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CloudError) return `${err.status} ${err.type ?? err.code}`;
    throw err;
  }
  return 'no error';
}

describe('Neutron core on a real store', () => {
  let store: OpenedStore;
  let core: NetCore;
  const admin = caller('admin-project', true);
  const demo = caller('demo-project');
  const other = caller('other-project');

  before(async () => {
    store = await openStore(':memory:');
    core = { store: networkStoreOf(store.db), settings: DEFAULT_NETWORK_SETTINGS };
  });
  after(async () => store.close());

  test('50 concurrent port creates on one /24 get 50 distinct addresses', async () => {
    const net = await createNetwork(core, demo, { name: 'conc' });
    const sub = await createSubnet(core, demo, { network_id: net.row.id, ip_version: 4, cidr: '10.9.0.0/24' });
    const ports = await Promise.all(Array.from({ length: 50 }, (_, i) => createPort(core, demo, { network_id: net.row.id, name: `p${i}` })));
    const ips = ports.map((p) => p.fixedIps[0]?.ip_address);
    assert.equal(new Set(ips).size, 50);
    assert.ok(ips.every((ip) => ip?.startsWith('10.9.0.')));
    assert.ok(ports.every((p) => p.fixedIps[0]?.subnet_id === sub.row.id));
    const macs = new Set(ports.map((p) => p.row.mac_address));
    assert.equal(macs.size, 50);
    assert.ok([...macs].every((m) => m.startsWith('fa:16:3e:')));
  });

  test('exhausting a pool: the gateway takes one address, then 409 IpAddressGenerationFailure; release makes room again', async () => {
    const pub = await createNetwork(core, admin, {
      name: 'public',
      'router:external': true,
      'provider:network_type': 'flat',
      'provider:physical_network': 'public',
    });
    assert.equal(pub.row.mtu, 1500);
    await createSubnet(core, admin, {
      network_id: pub.row.id,
      ip_version: 4,
      cidr: '172.24.4.0/24',
      gateway_ip: '172.24.4.1',
      enable_dhcp: false,
      allocation_pools: [{ start: '172.24.4.130', end: '172.24.4.138' }],
    });
    const router = await createRouter(core, demo, { name: 'r', external_gateway_info: { network_id: pub.row.id } });
    assert.equal(router.gatewayIps[0]?.ip_address, '172.24.4.130');
    const fips = [];
    for (let i = 0; i < 8; i++) fips.push(await createFloatingIp(core, demo, { floating_network_id: pub.row.id }));
    assert.deepEqual(
      fips.map((f) => f.row.floating_ip_address),
      ['131', '132', '133', '134', '135', '136', '137', '138'].map((x) => `172.24.4.${x}`),
    );
    assert.equal(await failure(createFloatingIp(core, demo, { floating_network_id: pub.row.id })), '409 IpAddressGenerationFailure');
    const { deleteFloatingIp } = await import('./floatingips.js');
    const first = fips[3];
    assert.ok(first);
    await deleteFloatingIp(core, demo, first.row.id);
    const again = await createFloatingIp(core, demo, { floating_network_id: pub.row.id });
    assert.equal(again.row.floating_ip_address, first.row.floating_ip_address);
  });

  test('floating IP association needs a router between the subnet and the external network', async () => {
    const [pub] = await core.store.read.networks.list({ names: ['public'] });
    assert.ok(pub);
    await core.store.write((r) => r.meta.setQuota(demo.projectId, 'floatingip', 20));
    const net = await createNetwork(core, demo, { name: 'priv' });
    const sub = await createSubnet(core, demo, { network_id: net.row.id, ip_version: 4, cidr: '10.20.0.0/24' });
    const port = await createPort(core, demo, { network_id: net.row.id });
    await updateRouter(core, demo, (await core.store.read.routers.list({ names: ['r'] }))[0]?.id ?? '', { name: 'r' });
    const fipRow = (await core.store.read.routers.listFloatingIps({ projectId: demo.projectId }))[0];
    assert.ok(fipRow);
    assert.equal(await failure(updateFloatingIp(core, demo, fipRow.id, { port_id: port.row.id })), '404 ExternalGatewayForFloatingIPNotFound');
    const router = (await core.store.read.routers.list({ names: ['r'] }))[0];
    assert.ok(router);
    const iface = await addInterface(core, demo, router.id, { subnet_id: sub.row.id });
    assert.equal(iface.subnet_id, sub.row.id);
    const fip = await updateFloatingIp(core, demo, fipRow.id, { port_id: port.row.id });
    assert.equal(fip.row.router_id, router.id);
    assert.equal(fip.row.fixed_ip_address, port.fixedIps[0]?.ip_address);
    // Another project cannot see the port.
    assert.equal(await failure(deletePort(core, other, port.row.id)), '404 PortNotFound');
    // Deleting the port disassociates the floating IP.
    await deletePort(core, demo, port.row.id);
    const after = await core.store.read.routers.getFloatingIp(fipRow.id);
    assert.equal(after?.fixed_port_id, null);
    assert.equal(after?.router_id, null);
  });

  test('changes commit with their transaction and are published after it; failures publish nothing', async () => {
    const feed = core.store.feed;
    const seen: ChangeEvent[] = [];
    const off = feed.on((evs) => seen.push(...evs));
    const before = await feed.latestSeq();
    const net = await createNetwork(core, demo, { name: 'events' });
    assert.deepEqual(seen.map((e) => [e.kind, e.resourceId, e.op]), [['network', net.row.id, 'create']]);
    const stored = await feed.since(before);
    assert.deepEqual(stored.map((e) => e.seq), seen.map((e) => e.seq));
    seen.length = 0;
    assert.equal(await failure(createSubnet(core, demo, { network_id: net.row.id, ip_version: 4, cidr: '10.0.0.0/33' })), '400 HTTPBadRequest');
    assert.equal(await failure(createNetwork(core, demo, { 'router:external': true })), '403 PolicyNotAuthorized');
    assert.equal(seen.length, 0);
    const sub = await createSubnet(core, demo, { network_id: net.row.id, ip_version: 4, cidr: '10.30.0.0/24' });
    const kinds = seen.map((e) => `${e.kind}:${e.op}`);
    assert.ok(kinds.includes('subnet:create'));
    assert.ok(kinds.includes('network:update'));
    // The DHCP port takes the first pool address and is an event of its own.
    const topo = new NetworkTopology(store.db);
    const ports = await topo.portsOnNetwork(net.row.id);
    assert.equal(ports.length, 1);
    assert.equal(ports[0]?.port.device_owner, 'network:dhcp');
    assert.deepEqual(ports[0]?.fixedIps, [{ subnet_id: sub.row.id, ip_address: '10.30.0.2' }]);
    assert.ok(kinds.includes('port:create'));
    off();
    await deleteNetwork(core, demo, net.row.id);
    assert.equal((await topo.network(net.row.id)), undefined);
  });

  test('VNIs come from the range and are never shared', async () => {
    const small: NetCore = { store: core.store, settings: { ...DEFAULT_NETWORK_SETTINGS, vniRange: { min: 5000, max: 5001 } } };
    const a = await createNetwork(core, admin, {});
    const b = await createNetwork(small, demo, {});
    const c = await createNetwork(small, demo, {});
    assert.notEqual(a.row.segmentation_id, b.row.segmentation_id);
    assert.deepEqual([b.row.segmentation_id, c.row.segmentation_id], [5000, 5001]);
    assert.equal(await failure(createNetwork(small, demo, {})), '503 NoNetworkAvailable');
    assert.equal(await failure(createNetwork(core, admin, { 'provider:segmentation_id': 5000, 'provider:network_type': 'vxlan' })), '409 TunnelIdInUse');
  });
});
