import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from './queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a key queued many times while waiting runs once', async () => {
  const runs: string[] = [];
  const q = new WorkQueue(async (k) => {
    runs.push(k);
    if (k === 'busy') await sleep(20);
  });
  q.add('busy');
  q.add('a');
  q.add('a');
  q.add('b');
  q.add('a');
  await q.idle();
  assert.deepEqual(runs, ['busy', 'a', 'b']);
});

test('a key added while it runs runs again afterwards, never concurrently', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const q = new WorkQueue(
    async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      await sleep(20);
      running--;
    },
    () => {},
    { concurrency: 4 },
  );
  q.add('a');
  await sleep(5);
  q.add('a');
  q.add('a');
  await q.idle();
  await sleep(5);
  await q.idle();
  assert.equal(runs, 2);
  assert.equal(maxRunning, 1);
});

test('failures retry with backoff and reset on success', async () => {
  let calls = 0;
  const errors: number[] = [];
  const q = new WorkQueue(
    async () => {
      calls++;
      if (calls < 3) throw new Error('not yet');
    },
    (_k, _e, attempt) => errors.push(attempt),
    { baseDelayMs: 10 },
  );
  q.add('x');
  const deadline = Date.now() + 2000;
  while (calls < 3 && Date.now() < deadline) await sleep(5);
  await q.idle();
  assert.equal(calls, 3);
  assert.deepEqual(errors, [1, 2]);
  assert.equal(q.failuresOf('x'), 0);
  q.stop();
});

test('requeueAfterMs runs the key again later', async () => {
  let calls = 0;
  const q = new WorkQueue(async () => {
    calls++;
    return calls === 1 ? { requeueAfterMs: 10 } : undefined;
  });
  q.add('k');
  const deadline = Date.now() + 2000;
  while (calls < 2 && Date.now() < deadline) await sleep(5);
  assert.equal(calls, 2);
  q.stop();
});
