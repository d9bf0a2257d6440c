import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSecret, hashSecret, verifySecret } from './passwords.js';

test('a hash verifies its own secret and nothing else', async () => {
  const h = await hashSecret('correct horse', 1024);
  assert.match(h, /^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.equal(await verifySecret('correct horse', h), true);
  assert.equal(await verifySecret('correct horse ', h), false);
  assert.equal(await verifySecret('Correct horse', h), false);
  assert.equal(await verifySecret('', h), false);
});

test('the default cost is N=2^14, r=8, p=1, and the hash holds no trace of the secret', async () => {
  const h = await hashSecret('s3cret-marker');
  assert.ok(h.startsWith('scrypt$16384$8$1$'));
  assert.ok(!h.includes('s3cret-marker'));
  assert.equal(await verifySecret('s3cret-marker', h), true);
});

test('the same secret hashes differently each time (salted)', async () => {
  const [a, b] = await Promise.all([hashSecret('same', 1024), hashSecret('same', 1024)]);
  assert.notEqual(a, b);
  assert.equal(await verifySecret('same', a), true);
  assert.equal(await verifySecret('same', b), true);
});

test('the stored parameters are used, so raising the default breaks no old hash', async () => {
  const old = await hashSecret('pw', 2048);
  assert.equal(await verifySecret('pw', old), true);
});

test('a tampered or damaged stored hash matches nothing and never throws', async () => {
  const h = await hashSecret('pw', 1024);
  const parts = h.split('$');
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  const variants = [
    [...parts.slice(0, 5), flip(parts[5] ?? '')].join('$'), // hash changed
    [...parts.slice(0, 4), flip(parts[4] ?? ''), parts[5]].join('$'), // salt changed
    ['scrypt', '2048', ...parts.slice(2)].join('$'), // cost changed
    ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
    ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$'), // absurd cost
    ['scrypt', 'x', ...parts.slice(2)].join('$'),
    ['bcrypt', ...parts.slice(1)].join('$'),
    parts.slice(0, 5).join('$'),
    '',
    'plaintext',
    [...parts.slice(0, 5), parts[5]?.slice(0, 10)].join('$'), // truncated hash
  ];
  for (const v of variants) assert.equal(await verifySecret('pw', v), false, v);
});

test('generated secrets are url-safe and long enough', () => {
  const s = generateSecret();
  assert.match(s, /^[\w-]{32}$/);
  assert.notEqual(generateSecret(), generateSecret());
  assert.equal(generateSecret(12).length, 16);
});
