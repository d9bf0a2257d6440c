import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Controller } from './controller.js';
import { ReconcileManager, type PassKind } from './manager.js';

/** A controller whose reconciles take a while and are recorded, with garbage collection recorded after them. */
function slowController(log: string[], keys: string[], ms: number): Controller {
  return {
    kinds: ['thing'],
    name: 'things',
    listKeys: async () => keys,
    reconcile: async (k) => {
      await new Promise((r) => setTimeout(r, ms));
      log.push(`reconcile ${k}`);
    },
    collectGarbage: async () => {
      log.push('gc');
    },
  };
}

test('a resync refreshes first, collects garbage only once its queues are idle, reports the pass, and never overlaps another', async () => {
  const log: string[] = [];
  const passes: PassKind[] = [];
  let refreshes = 0;
  const m = new ReconcileManager([slowController(log, ['a', 'b'], 20)], pino({ level: 'silent' }), {
    resyncMs: 0,
    beforeResync: async () => {
      refreshes++;
      log.push('refresh');
    },
    onPass: (kind) => passes.push(kind),
  });
  await m.fullPass();
  assert.deepEqual(log, ['reconcile a', 'reconcile b', 'gc']);
  assert.deepEqual(passes, ['startup']);
  log.length = 0;
  const first = m.resync();
  const second = m.resync();
  assert.equal(first, second, 'a resync asked for during another joins it');
  await first;
  assert.equal(refreshes, 1);
  assert.deepEqual(log, ['refresh', 'reconcile a', 'reconcile b', 'gc']);
  assert.deepEqual(passes, ['startup', 'resync']);
  await m.resync();
  assert.equal(refreshes, 2, 'a later resync runs again');
  m.stop();
});

test('a failing refresh does not stop the resync', async () => {
  const log: string[] = [];
  const m = new ReconcileManager([slowController(log, ['a'], 1)], pino({ level: 'silent' }), {
    resyncMs: 0,
    beforeResync: async () => {
      throw new Error('host unreadable');
    },
  });
  await m.resync();
  assert.deepEqual(log, ['reconcile a', 'gc']);
  m.stop();
});
