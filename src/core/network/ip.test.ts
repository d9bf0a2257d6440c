import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalIp, cidrsOverlap, formatCidr, formatIp, ipKey, keyToValue, lastOf, parseCidr, parseIp, subtractPoints } from './ip.js';

test('IPv4 parse and format round-trip, strict about junk', () => {
  assert.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
  for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', '', 'a.b.c.d', ' 1.2.3.4', '1.2.3.-4']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  fc.assert(
    fc.property(fc.ipV4(), (s) => canonicalIp(s) === s),
    { numRuns: 500 },
  );
});

test('IPv6 canonical text (RFC 5952)', () => {
  assert.equal(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(canonicalIp('::'), '::');
  assert.equal(canonicalIp('::1'), '::1');
  assert.equal(canonicalIp('1:0:0:1:0:0:0:1'), '1:0:0:1::1');
  assert.equal(canonicalIp('1:0:1:0:1:0:1:0'), '1:0:1:0:1:0:1:0');
  assert.equal(canonicalIp('::ffff:1.2.3.4'), '::ffff:102:304');
  for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1']) assert.equal(parseIp(bad), undefined, bad);
  fc.assert(
    fc.property(fc.ipV6(), (s) => {
      const ip = parseIp(s);
      if (!ip) return false;
      const again = parseIp(formatIp(6, ip.value));
      return again !== undefined && again.value === ip.value;
    }),
    { numRuns: 500 },
  );
});

test('CIDRs are normalized and compared', () => {
  const c = parseCidr('10.0.0.5/24');
  assert.ok(c);
  assert.equal(formatCidr(c), '10.0.0.0/24');
  assert.equal(formatIp(4, lastOf(c)), '10.0.0.255');
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0'), undefined);
  assert.equal(formatCidr(parseCidr('10.0.0.9', true) ?? c), '10.0.0.9/32');
  const a = parseCidr('10.0.0.0/16');
  const b = parseCidr('10.0.5.0/24');
  const d = parseCidr('10.1.0.0/24');
  assert.ok(a && b && d);
  assert.equal(cidrsOverlap(a, b), true);
  assert.equal(cidrsOverlap(a, d), false);
});

test('keys sort like the numbers they stand for', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (x, y) => {
      const kx = ipKey(4, x);
      const ky = ipKey(4, y);
      return (kx < ky) === (x < y) && keyToValue(kx) === x;
    }),
  );
});

test('subtracting taken addresses from pools', () => {
  const r = subtractPoints([{ first: 10n, last: 20n }], [10n, 15n, 20n, 30n]);
  assert.deepEqual(r, [
    { first: 11n, last: 14n },
    { first: 16n, last: 19n },
  ]);
});
