import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleTokens } from './tokens.js';

test('a token admits its instance until it expires', async () => {
  const t = new ConsoleTokens(30);
  const { token } = t.issue('vm-1');
  assert.equal(t.redeem(token)?.instanceId, 'vm-1');
  assert.equal(t.redeem(`${token}x`), undefined);
  assert.equal(t.redeem(''), undefined);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(t.redeem(token), undefined);
});

test('revoking an instance kills its tokens only', () => {
  const t = new ConsoleTokens();
  const a = t.issue('a').token;
  const b = t.issue('b').token;
  t.revokeInstance('a');
  assert.equal(t.redeem(a), undefined);
  assert.equal(t.redeem(b)?.instanceId, 'b');
});
