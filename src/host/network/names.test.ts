import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HostNames, idKey, keyLength } from './names.js';
import { isIfName } from '../exec.js';

const ID = '8a5c1e2f-3b4d-4e5f-8a6b-7c8d9e0f1a2b';

test('names carry the prefix, a kind letter and the first hex digits of the id', () => {
  const n = new HostNames('sl');
  assert.equal(n.bridge(ID), 'slb-8a5c1e2f3b');
  assert.equal(n.tap(ID), 'slt-8a5c1e2f3b');
  assert.equal(n.vethHost(ID), 'slv-8a5c1e2f3b');
  assert.equal(n.vethRouter(ID), 'slr-8a5c1e2f3b');
  assert.equal(n.vethDhcp(ID), 'sld-8a5c1e2f3b');
  assert.equal(n.routerNetns(ID), `sl-qr-${ID}`);
  assert.equal(n.dhcpNetns(ID), `sl-qd-${ID}`);
  assert.deepEqual([n.sgTable, n.portSecurityTable, n.routerTable], ['sl_sg', 'sl_ps', 'sl_router']);
});

test('every link name fits in 15 bytes for every allowed prefix', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/), fc.uuid(), (prefix, id) => {
      const n = new HostNames(prefix);
      for (const name of [n.bridge(id), n.tap(id), n.vethHost(id), n.vethRouter(id), n.vethDhcp(id)]) {
        assert.ok(isIfName(name), name);
        assert.deepEqual(n.parseLink(name)?.key, idKey(prefix, id));
      }
      assert.equal(n.parseNetns(n.routerNetns(id))?.id, id.toLowerCase());
    }),
  );
  assert.equal(keyLength('abcde'), 8);
  assert.equal(keyLength('sl'), 10);
});

test('names parse back to kind and key; another cloud’s names are not ours', () => {
  const sl = new HostNames('sl');
  const slh = new HostNames('slh');
  assert.deepEqual(sl.parseLink('slb-8a5c1e2f3b'), { kind: 'bridge', key: '8a5c1e2f3b' });
  assert.deepEqual(sl.parseLink('slt-8a5c1e2f3b'), { kind: 'tap', key: '8a5c1e2f3b' });
  assert.equal(sl.parseLink(slh.bridge(ID)), null);
  assert.equal(slh.parseLink(sl.bridge(ID)), null);
  assert.equal(sl.parseLink('slb-8a5c1e2f3'), null, 'wrong key length');
  assert.equal(sl.parseLink('slx-8a5c1e2f3b'), null, 'unknown kind');
  assert.equal(sl.parseLink('eth0'), null);
  assert.deepEqual(sl.parseNetns(`sl-qd-${ID}`), { kind: 'dhcp', id: ID });
  assert.equal(sl.parseNetns(`slh-qr-${ID}`), null);
  assert.equal(slh.parseNetns(`sl-qr-${ID}`), null);
  assert.equal(sl.parseNetns('sl-qx-abc'), null);
  assert.equal(sl.matches('8a5c1e2f3b', ID), true);
  assert.equal(sl.matches('8a5c1e2f3c', ID), false);
});

test('bad prefixes and ids are refused', () => {
  assert.throws(() => new HostNames('Sl'));
  assert.throws(() => new HostNames('toolong'));
  assert.throws(() => new HostNames('1a'));
  assert.throws(() => new HostNames('sl').bridge('not-an-id'));
  assert.equal(new HostNames('sl').tap('8a5c1e2f3b'), 'slt-8a5c1e2f3b', 'a key works as an id');
});
