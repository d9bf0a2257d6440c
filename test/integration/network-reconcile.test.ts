import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AuthContext } from '../../src/core/auth.js';
import type { Caller } from '../../src/core/network/access.js';
import type { NetCore } from '../../src/core/network/core.js';
import { createFloatingIp } from '../../src/core/network/floatingips.js';
import { createNetwork } from '../../src/core/network/networks.js';
import { createPort } from '../../src/core/network/ports.js';
import { addInterface, createRouter } from '../../src/core/network/routers.js';
import { createRule } from '../../src/core/network/secgroups.js';
import { DEFAULT_NETWORK_SETTINGS } from '../../src/core/network/settings.js';
import { createSubnet } from '../../src/core/network/subnets.js';
import { LinuxNetworkDriver } from '../../src/host/network/linux/driver.js';
import { ReconcileManager } from '../../src/reconcile/manager.js';
import { networkControllers } from '../../src/reconcile/network/index.js';
import { openStore, type OpenedStore } from '../../src/store/db.js';
import { networkStoreOf } from '../../src/store/network/store.js';
import { NetworkTopology } from '../../src/store/network/topology.js';
import { pingFrom, run, TestMachine, tryRun, writeDhcpScript } from './host-network-machines.js';

/**
 * The network controllers driving the Linux driver on the real kernel, in
 * a sandbox namespace this test makes (prefix slr): the Neutron core makes
 * a topology in an in-memory store, the reconcile manager builds it, and a
 * test machine (a namespace with a veth named as its port's binding
 * expects) gets its lease from the reconciled dnsmasq and is reached on
 * its floating IP once the association's events were reconciled.
 */

const PREFIX = 'slr';
const SANDBOX = `slr-sbx-${process.pid}`;
const M1_NS = `slr-m1-${process.pid}`;

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

describe('network reconcile: controllers and the Linux driver in a sandbox', { timeout: 180_000 }, () => {
  const admin = caller('admin-project', true);
  const demo = caller('demo-project');
  let dir = '';
  let store: OpenedStore;
  let core: NetCore;
  let driver: LinuxNetworkDriver;
  let manager: ReconcileManager | undefined;
  let off: (() => void) | undefined;
  let machine: TestMachine;
  let metadataServer: Server | undefined;
  const ids = { pub: '', priv: '', router: '', port: '', portIp: '', mac: '', dhcpIp: '', group: '' };

  async function settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await manager?.idle();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slr-net-'));
    store = await openStore(':memory:');
    core = { store: networkStoreOf(store.db), settings: DEFAULT_NETWORK_SETTINGS };
    const pub = await createNetwork(core, admin, { name: 'public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'public' });
    await createSubnet(core, admin, { network_id: pub.row.id, ip_version: 4, cidr: '172.24.4.0/24', gateway_ip: '172.24.4.1', enable_dhcp: false });
    const priv = await createNetwork(core, demo, { name: 'private' });
    const sub = await createSubnet(core, demo, { network_id: priv.row.id, ip_version: 4, cidr: '10.0.0.0/24' });
    const router = await createRouter(core, demo, { name: 'r', external_gateway_info: { network_id: pub.row.id } });
    await addInterface(core, demo, router.row.id, { subnet_id: sub.row.id });
    const port = await createPort(core, admin, { network_id: priv.row.id, project_id: demo.projectId, device_owner: 'test:machine', device_id: 'm1', 'binding:host_id': 'host1' });
    const topo = new NetworkTopology(store.db);
    const dhcpPort = (await topo.portsOnNetwork(priv.row.id)).find((p) => p.port.device_owner === 'network:dhcp');
    Object.assign(ids, {
      pub: pub.row.id,
      priv: priv.row.id,
      router: router.row.id,
      port: port.row.id,
      portIp: port.fixedIps[0]?.ip_address ?? '',
      mac: port.row.mac_address,
      dhcpIp: dhcpPort?.fixedIps[0]?.ip_address ?? '',
      group: (await topo.port(port.row.id))?.securityGroupIds[0] ?? '',
    });
    const socketPath = join(dir, 'metadata.sock');
    // Stands in for Stacklet's metadata API: says which router forwarded the request.
    const server = createServer((req, res) => res.end(`router=${String(req.headers['x-stacklet-router-id'])}`));
    metadataServer = server;
    await new Promise<void>((r) => server.listen(socketPath, r));
    driver = new LinuxNetworkDriver({ prefix: PREFIX, sandbox: SANDBOX, stateDir: join(dir, 'state'), metadataUpstream: { socketPath }, leaseSeconds: 600 });
    await driver.ensureHost();
    machine = await TestMachine.create(M1_NS, SANDBOX, driver.names.tap(ids.port), ids.mac);
    const log = pino({ level: 'silent' });
    manager = new ReconcileManager(networkControllers({ db: store.db, driver, log }), log, { resyncMs: 0 });
    const m = manager;
    off = core.store.feed.on((events) => {
      for (const e of events) m.notify(e.kind, e.resourceId);
    });
  });

  after(async () => {
    off?.();
    manager?.stop();
    await driver?.teardown({ sandbox: true });
    await tryRun(['ip', 'netns', 'del', M1_NS], '', 5_000).catch(() => undefined);
    await store?.close();
    await new Promise<void>((r) => (metadataServer ? metadataServer.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
    const ours = [SANDBOX, M1_NS, `${PREFIX}-qr-${ids.router}`, `${PREFIX}-qd-${ids.priv}`];
    const left = (await run.run(['ip', 'netns', 'list'], { readOnly: true })).stdout.split('\n').filter((l) => ours.includes(l.split(' ')[0] ?? ''));
    assert.deepEqual(left, [], `namespaces left behind: ${left.join(', ')}`);
    const links = (await run.run(['ip', '-o', 'link', 'show'], { readOnly: true })).stdout.split('\n').filter((l) => /^\d+: slr/.test(l));
    assert.deepEqual(links, [], 'links left in the root namespace');
  });

  test('the full pass builds the topology and the machine gets its lease from the reconciled dnsmasq', async () => {
    assert.ok(manager);
    await manager.fullPass();
    assert.deepEqual([...manager.warnings], []);
    const lease = await machine.dhcp(await writeDhcpScript(dir), dir);
    assert.equal(lease.ip, ids.portIp);
    assert.equal(lease.mask, '24');
    assert.equal(lease.router, '10.0.0.1');
    assert.equal(lease.dns, ids.dhcpIp, 'the DHCP port is the guests\' DNS server');
    assert.equal(lease.mtu, '1450');
    const topo = new NetworkTopology(store.db);
    assert.equal((await topo.port(ids.port))?.port.status, 'ACTIVE');
    // The network has a router, so the router's namespace serves metadata (busybox wget's -T crashes this busybox: no timeout flag).
    assert.equal((await machine.exec(['busybox', 'wget', '-q', '-O', '-', 'http://169.254.169.254/latest/'])).trim(), `router=${ids.router}`);
  });

  test('a floating IP associated through the core is reachable from the host once reconciled', async () => {
    await createRule(core, demo, { security_group_id: ids.group, direction: 'ingress', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' });
    const fip = await createFloatingIp(core, demo, { floating_network_id: ids.pub, port_id: ids.port });
    await settle();
    assert.deepEqual([...(manager?.warnings ?? [])], []);
    assert.equal(await pingFrom(SANDBOX, fip.row.floating_ip_address, { count: 3, timeoutS: 2 }), true);
    const topo = new NetworkTopology(store.db);
    assert.equal((await topo.floatingIp(fip.row.id))?.status, 'ACTIVE');
  });
});
