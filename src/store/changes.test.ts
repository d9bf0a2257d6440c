import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { changeFeedOf, type ChangeEvent } from './changes.js';
import { openStore, type OpenedStore } from './db.js';

let store: OpenedStore;
before(async () => {
  store = await openStore(':memory:');
});
after(async () => store.close());

test('events commit with their transaction, are published after it, de-duplicated, and can be replayed and pruned', async () => {
  const feed = changeFeedOf(store.db);
  assert.equal(changeFeedOf(store.db), feed, 'one feed per store');
  const heard: ChangeEvent[][] = [];
  const off = feed.on((evs) => heard.push(evs));

  await feed.write(async (_trx, batch) => {
    batch.add('network', 'n1', 'create');
    batch.add('network', 'n1', 'update');
    batch.add('port', 'p1', 'update');
    batch.add('port', 'p1', 'delete');
    assert.equal(heard.length, 0, 'nothing is published before the commit');
  });
  assert.deepEqual(heard.map((b) => b.map((e) => `${e.kind}:${e.resourceId}:${e.op}`)), [['network:n1:create', 'port:p1:delete']]);

  await assert.rejects(
    feed.write(async (_trx, batch) => {
      batch.add('router', 'r1', 'create');
      throw new Error('rolled back');
    }),
  );
  assert.equal(heard.length, 1, 'a rolled back change publishes nothing');
  const stored = await feed.since(0);
  assert.deepEqual(stored.map((e) => e.resourceId), ['n1', 'p1'], 'and stores nothing');

  const broken = feed.on(() => {
    throw new Error('listener bug');
  });
  await feed.write(async (_trx, batch) => batch.add('subnet', 's1', 'create'));
  broken();
  assert.equal(heard.length, 2, 'a failing listener does not stop the others');

  const last = await feed.latestSeq();
  assert.equal((await feed.since(last - 1)).length, 1);
  await feed.prune(last - 1);
  assert.deepEqual((await feed.since(0)).map((e) => e.resourceId), ['s1']);
  off();
});
