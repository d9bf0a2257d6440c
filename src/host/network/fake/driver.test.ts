import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNetworkDriver } from './driver.js';
import type { PortSpec } from '../driver.js';

const NET = '11111111-1111-4111-8111-111111111111';
const PORT = '22222222-2222-4222-8222-222222222222';
const port: PortSpec = { portId: PORT, networkId: NET, mac: 'FA:16:3E:00:00:01', fixedIps: ['10.0.0.5'], portSecurity: true, securityGroupIds: [], allowedAddressPairs: [], mtu: 1450, plug: 'tap' };

test('records changes once; a second ensure changes nothing', async () => {
  const d = new FakeNetworkDriver('sl', 'sbx');
  assert.equal((await d.ensureHost()).changed, true);
  assert.equal((await d.ensureHost()).changed, false);
  const n = await d.ensureNetwork({ networkId: NET, mtu: 1450 });
  assert.deepEqual(n.binding, { bridge: 'slb-1111111111', netns: 'sbx', mtu: 1450 });
  const p = await d.ensurePort(port);
  assert.deepEqual(p.binding, { tap: 'slt-2222222222', bridge: 'slb-1111111111', mac: 'fa:16:3e:00:00:01', mtu: 1450, netns: 'sbx' });
  assert.equal((await d.ensurePort(port)).changed, false);
  assert.equal((await d.ensurePort({ ...port, fixedIps: ['10.0.0.6'] })).changed, true);
  assert.deepEqual(d.takeActions(), ['ensureHost sbx', `ensureNetwork ${NET}`, `ensurePort ${PORT}`, `ensurePort ${PORT}`]);
});

test('removal by id or by key; already gone is success', async () => {
  const d = new FakeNetworkDriver();
  await d.ensureNetwork({ networkId: NET, mtu: 1500 });
  await d.ensurePort(port);
  const inv = await d.inventory();
  assert.deepEqual([inv.bridges, inv.taps, inv.filteredPorts], [['1111111111'], ['2222222222'], ['2222222222']]);
  assert.equal((await d.removePort('2222222222')).changed, true);
  assert.equal((await d.removePort(PORT)).changed, false);
  assert.equal((await d.removeNetwork(NET)).changed, true);
});

test('a port needs its network; injected failures throw once; wipe forgets the host', async () => {
  const d = new FakeNetworkDriver();
  await assert.rejects(d.ensurePort(port), /does not exist yet/);
  d.failNext('ensureNetwork');
  await assert.rejects(d.ensureNetwork({ networkId: NET, mtu: 1500 }), /injected failure/);
  assert.equal((await d.ensureNetwork({ networkId: NET, mtu: 1500 })).changed, true);
  d.wipe();
  assert.equal((await d.ensureNetwork({ networkId: NET, mtu: 1500 })).changed, true);
});
