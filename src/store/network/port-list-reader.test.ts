import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Caller } from '../../core/network/access.js';
import { createNetwork } from '../../core/network/networks.js';
import { createPort, updatePort } from '../../core/network/ports.js';
import { DEFAULT_NETWORK_SETTINGS } from '../../core/network/settings.js';
import { createSubnet } from '../../core/network/subnets.js';
import { replaceTags } from '../../core/network/tags.js';
import { openStore, type OpenedStore } from '../db.js';
import { NetworkRepos, networkStoreOf } from './store.js';

const who = (projectId: string): Caller => ({
  auth: { token: '', userId: 'u', userName: 'u', userDomainId: 'default', userDomainName: 'Default', projectId, roles: [], methods: [], auditIds: [], issuedAt: '', expiresAt: '', isAdmin: false, isMember: true, isReader: true },
  projectId,
  isAdmin: false,
});

let dir: string;
let store: OpenedStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stacklet-reader-'));
  store = await openStore(join(dir, 'db.sqlite'));
});
after(async () => {
  networkStoreOf(store.db).closeReadConnection();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the read connection lists exactly what the writer committed, children included', async () => {
  const ns = networkStoreOf(store.db);
  const core = { store: ns, settings: DEFAULT_NETWORK_SETTINGS };
  const a = who('a');
  const net = await createNetwork(core, a, { name: 'n' });
  await createSubnet(core, a, { network_id: net.row.id, ip_version: 4, cidr: '10.1.0.0/24' });
  await createSubnet(core, a, { network_id: net.row.id, ip_version: 6, cidr: 'fd00:9::/64' });
  const p1 = await createPort(core, a, { network_id: net.row.id, name: 'one' });
  await updatePort(core, a, p1.row.id, { fixed_ips: [...p1.fixedIps, { ip_address: '10.1.0.99' }] });
  await replaceTags(core, a, 'ports', p1.row.id, ['z', 'a']);
  await createPort(core, who('b'), { network_id: (await createNetwork(core, who('b'), {})).row.id, name: 'other' });

  const viaKysely = new NetworkRepos(store.db);
  ns.useReadConnection(join(dir, 'db.sqlite'));
  for (const f of [{}, { projectId: 'a' }, { projectId: 'b' }, { ids: [p1.row.id] }, { networkIds: [net.row.id], deviceOwners: ['network:dhcp'] }, { names: [] }]) {
    const fast = await ns.read.ports.listWithChildren(f);
    const slow = await viaKysely.ports.listWithChildren(f);
    assert.deepEqual(fast, slow, JSON.stringify(f));
  }
  const [one] = await ns.read.ports.listWithChildren({ ids: [p1.row.id] });
  assert.deepEqual(one?.tags, ['a', 'z']);
  assert.equal(one?.fixedIps.length, 3);
});
