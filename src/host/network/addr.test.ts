import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coverCidrs4, isIp4OrCidr, netmask, normCidr4, normMac, parseCidr4 } from './addr.js';

test('CIDRs normalise to the form nft prints', () => {
  assert.equal(normCidr4('10.0.0.5'), '10.0.0.5');
  assert.equal(normCidr4('10.0.0.5/32'), '10.0.0.5');
  assert.equal(normCidr4('10.0.0.5/24'), '10.0.0.0/24');
  assert.equal(normCidr4('0.0.0.0/0'), '0.0.0.0/0');
  assert.deepEqual(parseCidr4('192.168.1.77/16'), { base: (192 * 256 + 168) * 65536, len: 16 });
  assert.throws(() => normCidr4('10.0.0.256'));
  assert.throws(() => normCidr4('10.0.0.0/33'));
  assert.equal(isIp4OrCidr('fd00::1'), false);
});

test('coverCidrs4 drops nested entries, duplicates and IPv6, and sorts', () => {
  assert.deepEqual(coverCidrs4(['10.0.0.5', '10.0.0.0/24', '10.0.0.7/32', '10.0.1.1', 'fd00::1', '10.0.1.1/32']), ['10.0.0.0/24', '10.0.1.1']);
  assert.deepEqual(coverCidrs4(['10.0.0.12', '10.0.0.11']), ['10.0.0.11', '10.0.0.12']);
  assert.deepEqual(coverCidrs4([]), []);
  assert.deepEqual(coverCidrs4(['10.0.0.0/25', '10.0.0.128/25']), ['10.0.0.0/25', '10.0.0.128/25']);
});

test('netmask and MAC helpers', () => {
  assert.equal(netmask(24), '255.255.255.0');
  assert.equal(netmask(0), '0.0.0.0');
  assert.equal(netmask(32), '255.255.255.255');
  assert.equal(normMac('FA:16:3E:00:00:01'), 'fa:16:3e:00:00:01');
  assert.throws(() => normMac('fa:16:3e:00:00'));
});
