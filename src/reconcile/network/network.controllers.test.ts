import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { AuthContext } from '../../core/auth.js';
import type { Caller } from '../../core/network/access.js';
import type { NetCore } from '../../core/network/core.js';
import { createFloatingIp } from '../../core/network/floatingips.js';
import { createNetwork } from '../../core/network/networks.js';
import { createPort, deletePort, updatePort } from '../../core/network/ports.js';
import { addInterface, createRouter, deleteRouter, removeInterface } from '../../core/network/routers.js';
import { createRule, createSecurityGroup } from '../../core/network/secgroups.js';
import { DEFAULT_NETWORK_SETTINGS } from '../../core/network/settings.js';
import { createSubnet } from '../../core/network/subnets.js';
import { FakeNetworkDriver } from '../../host/network/fake/driver.js';
import { openStore, type OpenedStore } from '../../store/db.js';
import { networkStoreOf } from '../../store/network/store.js';
import { NetworkTopology } from '../../store/network/topology.js';
import { ReconcileManager } from '../manager.js';
import { networkControllers } from './index.js';

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

describe('network controllers on a real store with the fake driver', () => {
  let store: OpenedStore;
  let core: NetCore;
  let topo: NetworkTopology;
  let manager: ReconcileManager;
  let off: () => void;
  const driver = new FakeNetworkDriver('sl');
  const admin = caller('admin-project', true);
  const demo = caller('demo-project');
  const seed = { pub: '', priv: '', privSubnet: '', router: '', web: '', vm: '', machine: '', unbound: '', fip: '', fipAddress: '', vmIp: '', dhcpPort: '' };

  /** Change events are mapped to keys asynchronously; wait for that, then for the queues. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await manager.idle();
    }
  }

  before(async () => {
    store = await openStore(':memory:');
    core = { store: networkStoreOf(store.db), settings: DEFAULT_NETWORK_SETTINGS };
    topo = new NetworkTopology(store.db);
    const pub = await createNetwork(core, admin, { name: 'public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'public' });
    await createSubnet(core, admin, { network_id: pub.row.id, ip_version: 4, cidr: '172.24.4.0/24', gateway_ip: '172.24.4.1', enable_dhcp: false });
    const priv = await createNetwork(core, demo, { name: 'private' });
    const sub = await createSubnet(core, demo, { network_id: priv.row.id, ip_version: 4, cidr: '10.0.0.0/24', dns_nameservers: [] });
    const router = await createRouter(core, demo, { name: 'r', external_gateway_info: { network_id: pub.row.id } });
    await addInterface(core, demo, router.row.id, { subnet_id: sub.row.id });
    const web = await createSecurityGroup(core, demo, { name: 'web' });
    await createRule(core, demo, { security_group_id: web.row.id, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_group_id: web.row.id });
    const vm = await createPort(core, admin, {
      network_id: priv.row.id,
      project_id: demo.projectId,
      device_owner: 'compute:nova',
      device_id: 'server-1',
      'binding:host_id': 'host1',
      security_groups: [web.row.id],
      allowed_address_pairs: [{ ip_address: '10.0.0.200' }],
    });
    const machine = await createPort(core, admin, { network_id: priv.row.id, project_id: demo.projectId, device_owner: 'test:machine', device_id: 'm1', 'binding:host_id': 'host1' });
    const unbound = await createPort(core, demo, { network_id: priv.row.id });
    const fip = await createFloatingIp(core, demo, { floating_network_id: pub.row.id, port_id: vm.row.id });
    const dhcpPort = (await topo.portsOnNetwork(priv.row.id)).find((p) => p.port.device_owner === 'network:dhcp');
    assert.ok(dhcpPort, 'the network core makes the DHCP port');
    Object.assign(seed, {
      pub: pub.row.id,
      priv: priv.row.id,
      privSubnet: sub.row.id,
      router: router.row.id,
      web: web.row.id,
      vm: vm.row.id,
      machine: machine.row.id,
      unbound: unbound.row.id,
      fip: fip.row.id,
      fipAddress: fip.row.floating_ip_address,
      vmIp: vm.fixedIps[0]?.ip_address ?? '',
      dhcpPort: dhcpPort.port.id,
    });
    manager = new ReconcileManager(networkControllers({ db: store.db, driver, log: pino({ level: 'silent' }) }), pino({ level: 'silent' }), { resyncMs: 0 });
    off = core.store.feed.on((events) => {
      for (const e of events) manager.notify(e.kind, e.resourceId);
    });
  });

  after(async () => {
    off();
    manager.stop();
    await store.close();
  });

  test('the seed topology becomes bridges, DHCP, filtering, ports and a router', async () => {
    await manager.fullPass();
    assert.deepEqual(manager.warnings.size, 0, JSON.stringify([...manager.warnings]));
    const actions = driver.takeActions();
    for (const a of [
      `ensureNetwork ${seed.pub}`,
      `ensureNetwork ${seed.priv}`,
      `ensureDhcp ${seed.priv}`,
      `ensureSecurityGroup ${seed.web}`,
      `ensurePort ${seed.vm}`,
      `ensurePort ${seed.machine}`,
      `ensureRouter ${seed.router}`,
    ]) {
      assert.ok(actions.includes(a), `${a} in ${actions.join(', ')}`);
    }
    assert.ok(!actions.includes(`ensureDhcp ${seed.pub}`), 'no DHCP where no subnet enables it');
    assert.ok(!actions.some((a) => a.startsWith('ensurePort') && (a.endsWith(seed.unbound) || a.endsWith(seed.dhcpPort))));
    // Dependency order: the bridge before the ports and router on it.
    assert.ok(actions.indexOf(`ensureNetwork ${seed.priv}`) < actions.indexOf(`ensurePort ${seed.vm}`));

    assert.deepEqual(driver.networks.get(seed.pub)?.hostAddresses, ['172.24.4.1/24']);
    assert.equal(driver.networks.get(seed.priv)?.hostAddresses, undefined);

    const dhcp = driver.dhcp.get(seed.priv);
    assert.ok(dhcp);
    assert.equal(dhcp.port.portId, seed.dhcpPort);
    assert.deepEqual(dhcp.port.cidrs, ['10.0.0.2/24']);
    assert.equal(dhcp.metadata, false, 'the router serves metadata');
    assert.equal(dhcp.mtu, 1450);
    assert.equal(dhcp.subnets[0]?.gatewayIp, '10.0.0.1');
    const hostIps = dhcp.hosts.map((h) => h.ip);
    assert.ok(hostIps.includes(seed.vmIp));
    assert.ok(!hostIps.includes('10.0.0.2'), 'the DHCP port leases nothing to itself');
    assert.equal(dhcp.hosts.length, 4, 'vm, machine, unbound port, router interface');

    const vm = driver.ports.get(seed.vm);
    assert.equal(vm?.plug, 'tap');
    // Neutron fills a pair's MAC with the port's own.
    assert.deepEqual(vm?.allowedAddressPairs, [{ ipAddress: '10.0.0.200', macAddress: vm?.mac }]);
    assert.equal(vm?.mtu, 1450);
    assert.equal(driver.ports.get(seed.machine)?.plug, 'external');

    assert.deepEqual(driver.groups.get(seed.web)?.memberIps, [seed.vmIp, '10.0.0.200'].sort());
    assert.ok(driver.groups.get(seed.web)?.rules.some((r) => r.remoteGroupId === seed.web && r.portRangeMin === 80));

    const r = driver.routers.get(seed.router);
    assert.ok(r?.gateway);
    assert.equal(r.gateway.gatewayIp, '172.24.4.1');
    assert.equal(r.gateway.networkId, seed.pub);
    assert.ok(r.gateway.cidrs[0]?.endsWith('/24'));
    assert.deepEqual(r.interfaces.map((l) => l.cidrs), [['10.0.0.1/24']]);
    assert.equal(r.snat, true);
    assert.equal(r.metadata, true);
    assert.deepEqual(r.floatingIps, [{ floatingIp: seed.fipAddress, fixedIp: seed.vmIp }]);

    assert.equal((await topo.port(seed.vm))?.port.status, 'ACTIVE');
    assert.equal((await topo.port(seed.machine))?.port.status, 'ACTIVE');
    assert.equal((await topo.port(seed.unbound))?.port.status, 'DOWN');
    assert.equal((await topo.port(seed.dhcpPort))?.port.status, 'ACTIVE');
    assert.equal((await topo.floatingIp(seed.fip))?.status, 'ACTIVE');
    assert.equal((await topo.router(seed.router))?.router.status, 'ACTIVE');
  });

  test('a second full pass changes nothing', async () => {
    await manager.fullPass();
    assert.deepEqual(driver.takeActions(), []);
  });

  test('a network without a router gets metadata from its DHCP namespace', async () => {
    const iso = await createNetwork(core, demo, { name: 'isolated' });
    await createSubnet(core, demo, { network_id: iso.row.id, ip_version: 4, cidr: '10.50.0.0/24' });
    await settle();
    assert.deepEqual(driver.takeActions(), [`ensureNetwork ${iso.row.id}`, `ensureDhcp ${iso.row.id}`]);
    assert.equal(driver.dhcp.get(iso.row.id)?.metadata, true);
  });

  test('deleting a port removes it and updates DHCP hosts, group members and floating IPs', async () => {
    await deletePort(core, demo, seed.vm);
    await settle();
    const actions = driver.takeActions().sort();
    assert.deepEqual(actions, [`ensureDhcp ${seed.priv}`, `ensureRouter ${seed.router}`, `ensureSecurityGroup ${seed.web}`, `removePort ${seed.vm}`].sort());
    assert.ok(!driver.dhcp.get(seed.priv)?.hosts.some((h) => h.ip === seed.vmIp));
    assert.deepEqual(driver.groups.get(seed.web)?.memberIps, []);
    assert.deepEqual(driver.routers.get(seed.router)?.floatingIps, []);
    assert.equal((await topo.floatingIp(seed.fip))?.status, 'DOWN');
  });

  test('unbinding a port unplugs it and marks it DOWN; binding it again plugs it', async () => {
    await updatePort(core, admin, seed.machine, { 'binding:host_id': '' });
    await settle();
    assert.ok(driver.takeActions().includes(`removePort ${seed.machine}`));
    assert.equal((await topo.port(seed.machine))?.port.status, 'DOWN');
    await updatePort(core, admin, seed.machine, { 'binding:host_id': 'host1' });
    await settle();
    assert.ok(driver.takeActions().includes(`ensurePort ${seed.machine}`));
    assert.equal((await topo.port(seed.machine))?.port.status, 'ACTIVE');
  });

  test('garbage collection removes a leaked tap and router the store does not have', async () => {
    const leakedPort = '0badc0de-0000-4000-8000-000000000001';
    const leakedRouter = '0badc0de-0000-4000-8000-000000000002';
    driver.ports.set(leakedPort, { ...structuredClone(driver.ports.get(seed.machine) ?? assert.fail('machine port')), portId: leakedPort, plug: 'tap' });
    driver.routers.set(leakedRouter, { routerId: leakedRouter, mtu: 1500, gateway: null, interfaces: [], snat: false, floatingIps: [], routes: [], metadata: false });
    await manager.resync();
    await settle();
    const actions = driver.takeActions();
    assert.deepEqual(actions.sort(), [`removePort ${driver.names.key(leakedPort)}`, `removeRouter ${leakedRouter}`].sort());
    assert.ok(driver.ports.has(seed.machine), 'owned ports stay');
  });

  test('removing the interface and deleting the router removes the router; the DHCP namespace then serves metadata', async () => {
    await removeInterface(core, demo, seed.router, { subnet_id: seed.privSubnet });
    await settle();
    assert.deepEqual(driver.routers.get(seed.router)?.interfaces, []);
    assert.equal(driver.dhcp.get(seed.priv)?.metadata, true);
    await deleteRouter(core, demo, seed.router);
    await settle();
    assert.ok(driver.takeActions().includes(`removeRouter ${seed.router}`));
    assert.equal(driver.routers.has(seed.router), false);
  });

  test('a failed ensure is retried until it converges', async () => {
    driver.failNext('ensurePort');
    const p = await createPort(core, admin, { network_id: seed.priv, project_id: demo.projectId, device_owner: 'compute:nova', device_id: 'server-2', 'binding:host_id': 'host1' });
    await new Promise((r) => setTimeout(r, 1500));
    await settle();
    assert.ok(driver.ports.has(p.row.id));
    assert.equal((await topo.port(p.row.id))?.port.status, 'ACTIVE');
  });
});
