import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostCommandError, SpawnExec, assertIfName, assertNetnsName, inNetns, isAlreadyExists, isIfName, isNetnsName, isNotFound, type ExecEvent } from './exec.js';

test('runs an argv without a shell and returns stdout', async () => {
  const exec = new SpawnExec();
  const r = await exec.run(['/bin/echo', 'a;b', '$(x)']);
  assert.equal(r.stdout, 'a;b $(x)\n');
  assert.equal(r.exitCode, 0);
});

test('feeds stdin', async () => {
  const r = await new SpawnExec().run(['/bin/cat'], { stdin: 'hello\n' });
  assert.equal(r.stdout, 'hello\n');
});

test('a non-zero exit is a typed error with command, args, exit code and stderr', async () => {
  const err = await new SpawnExec().run(['/bin/sh', '-c', 'echo oops >&2; exit 3']).catch((e: unknown) => e);
  assert.ok(err instanceof HostCommandError);
  assert.equal(err.command, '/bin/sh');
  assert.deepEqual(err.args, ['-c', 'echo oops >&2; exit 3']);
  assert.equal(err.exitCode, 3);
  assert.equal(err.stderr, 'oops\n');
  assert.equal(err.timedOut, false);
  assert.match(err.message, /exit 3.*oops/s);
});

test('okExitCodes lets a command succeed with another code', async () => {
  const r = await new SpawnExec().run(['/bin/sh', '-c', 'exit 1'], { okExitCodes: [0, 1] });
  assert.equal(r.exitCode, 1);
});

test('a command that runs too long is killed and reported as timed out', async () => {
  const t0 = Date.now();
  const err = await new SpawnExec().run(['/bin/sleep', '5'], { timeoutMs: 100 }).catch((e: unknown) => e);
  assert.ok(err instanceof HostCommandError);
  assert.equal(err.timedOut, true);
  assert.ok(Date.now() - t0 < 3000);
});

test('a missing program is a typed error, not a crash', async () => {
  const err = await new SpawnExec().run(['/nonexistent/program']).catch((e: unknown) => e);
  assert.ok(err instanceof HostCommandError);
  assert.equal(err.exitCode, null);
});

test('an empty argv is refused', async () => {
  await assert.rejects(new SpawnExec().run([]), /empty argv/);
});

test('the log hook hears every command with its namespace wrapper and read-only flag', async () => {
  const seen: ExecEvent[] = [];
  const exec = new SpawnExec((e) => seen.push(e));
  await exec.run(['/bin/true'], { readOnly: true });
  const off = exec.onCommand((e) => seen.push({ ...e, argv: ['second'] }));
  await exec.run(['/bin/true']);
  off();
  await exec.run(['/bin/true']);
  assert.equal(seen.length, 4);
  assert.equal(seen[0]?.readOnly, true);
  assert.equal(seen[1]?.readOnly, false);
  assert.equal(seen[0]?.exitCode, 0);
});

test('inNetns wraps the argv in ip netns exec and validates the name', () => {
  assert.deepEqual(inNetns(null, ['nft', '-f', '-']), ['nft', '-f', '-']);
  assert.deepEqual(inNetns('slh-a', ['nft', '-f', '-']), ['/usr/sbin/ip', 'netns', 'exec', 'slh-a', 'nft', '-f', '-']);
  assert.throws(() => inNetns('../x', ['true']));
});

test('name validation', () => {
  assert.equal(isIfName('slb-0123456789'), true);
  assert.equal(isIfName('slhb-0123456789'), true);
  assert.equal(isIfName('slhxb-0123456789'), false, '16 bytes is too long');
  assert.equal(isIfName('Eth0'), false);
  assert.equal(isIfName('-x'), false);
  assert.equal(isIfName('a b'), false);
  assert.throws(() => assertIfName('a/b'));
  assert.equal(assertIfName('eth0'), 'eth0');
  assert.equal(isNetnsName('sl-qr-8a5c1e2f-0000-4000-8000-000000000000'), true);
  assert.equal(isNetnsName('..'), false);
  assert.equal(isNetnsName('a/b'), false);
  assert.equal(isNetnsName('-n'), false);
  assert.throws(() => assertNetnsName(''));
});

test('not-found and already-exists errors are recognised', () => {
  const nf = new HostCommandError('ip', [], 1, 'Cannot find device "x"', null, false);
  const ex = new HostCommandError('ip', [], 2, 'RTNETLINK answers: File exists', null, false);
  assert.equal(isNotFound(nf), true);
  assert.equal(isNotFound(ex), false);
  assert.equal(isAlreadyExists(ex), true);
  assert.equal(isNotFound(new Error('Cannot find device')), false);
});
