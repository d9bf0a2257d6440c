import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { auditId, TokenSigner, type TokenClaims } from './tokens.js';

const key = TokenSigner.generateKey();
const signer = new TokenSigner(key);
const claims = (over: Partial<TokenClaims> = {}): TokenClaims => ({
  sub: 'u1',
  m: ['password'],
  a: auditId(),
  t: Date.now(),
  x: Date.now() + 3600_000,
  p: 'p1',
  ...over,
});
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('sign then verify gives the claims back', async () => {
  const c = claims({ a2: auditId(), ac: 'ac1' });
  const t = await signer.sign(c);
  assert.equal(t.split('.').length, 3);
  const v = await signer.verify(t);
  assert.ok(v);
  for (const k of Object.keys(c) as (keyof TokenClaims)[]) assert.deepEqual(v[k], c[k], k);
});

test('tokens carry no roles or names, only ids', async () => {
  const t = await signer.sign(claims());
  const payload = JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(payload).sort(), ['a', 'exp', 'm', 'p', 'sub', 't', 'x']);
});

test('an expired token does not verify, whichever expiry says so', async () => {
  assert.equal(await signer.verify(await signer.sign(claims({ t: Date.now() - 7200_000, x: Date.now() - 1 }))), undefined);
  // JWS exp in the future, our own x in the past.
  const lying = await new SignJWT({ ...claims({ x: Date.now() - 1000 }) }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
  assert.equal(await signer.verify(lying), undefined);
  // Our x in the future, JWS exp in the past.
  const stale = await new SignJWT({ ...claims() }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(key);
  assert.equal(await signer.verify(stale), undefined);
});

test('a token signed with another key does not verify', async () => {
  const other = new TokenSigner(TokenSigner.generateKey());
  assert.equal(await signer.verify(await other.sign(claims())), undefined);
});

test('a tampered payload, header or signature does not verify', async () => {
  const t = await signer.sign(claims());
  const [h, p, s] = t.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const forged = [
    `${h}.${b64({ ...payload, sub: 'admin' })}.${s}`,
    `${h}.${b64({ ...payload, p: 'other' })}.${s}`,
    `${b64({ alg: 'none' })}.${p}.`,
    `${b64({ alg: 'none' })}.${p}.${s}`,
    `${b64({ alg: 'HS512' })}.${p}.${s}`,
    `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`,
    `${h}.${p}`,
    `${h}.${p}.${s}.x`,
    '',
    'garbage',
    'a.b.c',
    `${'a'.repeat(3000)}.${'b'.repeat(3000)}.c`,
  ];
  for (const f of forged) assert.equal(await signer.verify(f), undefined, f.slice(0, 80));
});

test('a well-signed token with claims of the wrong shape does not verify', async () => {
  const bad = [{ ...claims(), sub: 5 }, { ...claims(), m: 'password' }, { ...claims(), a: undefined }, { ...claims(), t: 'now' }, { ...claims(), x: undefined }];
  for (const c of bad) {
    const t = await new SignJWT(c as unknown as Record<string, unknown>).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
    assert.equal(await signer.verify(t), undefined, JSON.stringify(c));
  }
});

test('tokens signed the way earlier versions did (jose SignJWT, HS256) still verify: an upgrade keeps live tokens', async () => {
  const c = claims();
  const old = await new SignJWT({ ...c }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.ceil(c.x / 1000)).sign(key);
  assert.equal((await signer.verify(old))?.sub, c.sub);
  // And ours are standard JWS that a JWT library accepts.
  const { jwtVerify } = await import('jose');
  const { payload } = await jwtVerify(await signer.sign(c), key, { algorithms: ['HS256'] });
  assert.equal(payload['sub'], c.sub);
});

test('a non-canonical signature encoding is refused', async () => {
  const t = await signer.sign(claims());
  assert.equal(await signer.verify(`${t}=`), undefined);
  assert.equal(await signer.verify(`${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`), undefined);
});

test('audit ids are 22 url-safe characters and unique', () => {
  const ids = new Set(Array.from({ length: 1000 }, auditId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[\w-]{22}$/);
});
