import { EventEmitter } from 'node:events';
import type { Generated, Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * The change-event outbox: how the API tells the reconcilers what to look at.
 *
 * Every write of desired state appends rows to the `changes` table in the
 * same transaction as the write itself, so an event exists if and only if
 * its change committed (no lost event after a crash, no event for a rolled
 * back change). After the commit, the same events are handed to in-process
 * listeners at once, so a reconciler reacts without polling.
 *
 * An event is a key, not a payload: `(kind, resource_id)` names what
 * changed and `op` says how; a reconciler re-reads the desired state of that
 * key (level-based), so events may be coalesced, replayed or repeated
 * without harm. `seq` increases strictly; a reconciler that restarts or
 * falls behind reads `since(lastSeq)` from the table and then follows the
 * listener, and may `prune` what it has handled.
 *
 * Writers also emit events for the parents a change affects, so a
 * reconciler of the parent needs no reverse lookup of deleted rows: a port
 * change also emits `network` (DHCP hosts) and, for router legs and floating
 * IPs, `router`; a rule change also emits its `security_group`; a change of
 * a port's security groups emits each group whose membership changed (remote
 * group sets). Events of one transaction are de-duplicated.
 *
 * Observed status (port/floating IP/network/router status) is written by the
 * data plane through repository methods that emit nothing: the data plane
 * does not need to hear its own writes.
 */

export type ChangeKind =
  | 'network'
  | 'subnet'
  | 'port'
  | 'router'
  | 'floatingip'
  | 'security_group'
  | 'security_group_rule'
  | 'image'
  | 'server'
  | 'volume';

export type ChangeOp = 'create' | 'update' | 'delete';

export interface ChangeTable {
  seq: Generated<number>;
  kind: string;
  resource_id: string;
  op: string;
  /** ISO-8601 time of the write. */
  at: string;
}

export interface ChangeEvent {
  seq: number;
  kind: ChangeKind;
  resourceId: string;
  op: ChangeOp;
  at: string;
}

export interface ChangeRequest {
  kind: ChangeKind;
  id: string;
  op: ChangeOp;
}

interface FeedEvents {
  change: [events: ChangeEvent[]];
}

/**
 * Collects the events of one transaction; `ChangeFeed.write` hands one to
 * the callback and publishes what it holds once the transaction committed.
 */
export class ChangeBatch {
  private readonly pending = new Map<string, ChangeRequest>();

  /** Records that (kind, id) changed; a later op on the same key wins, except that create+delete is kept as delete. */
  add(kind: ChangeKind, id: string, op: ChangeOp): void {
    const key = `${kind}\u0000${id}`;
    const prev = this.pending.get(key);
    if (prev && prev.op === 'create' && op === 'update') return;
    this.pending.set(key, { kind, id, op });
  }

  get requests(): ChangeRequest[] {
    return [...this.pending.values()];
  }
}

/**
 * One feed per store: the writer side (`write`) and the reader side
 * (`on`, `since`, `latestSeq`, `prune`).
 */
export class ChangeFeed {
  private readonly emitter = new EventEmitter<FeedEvents>();

  constructor(readonly db: Kysely<Database>) {
    // Several reconcilers may listen; that is not a leak.
    this.emitter.setMaxListeners(0);
  }

  /**
   * Runs `fn` in one transaction; the events it adds to the batch are
   * inserted in the same transaction and published to listeners after the
   * commit (never when `fn` throws).
   */
  async write<T>(fn: (trx: Transaction<Database>, batch: ChangeBatch) => Promise<T>): Promise<T> {
    const { result, events } = await this.db.transaction().execute(async (trx) => {
      const batch = new ChangeBatch();
      const result = await fn(trx, batch);
      const events = await insertChanges(trx, batch.requests);
      return { result, events };
    });
    this.publish(events);
    return result;
  }

  /** Listens to the events of every committed transaction (in commit order). Returns the unsubscribe function. */
  on(listener: (events: ChangeEvent[]) => void): () => void {
    const safe = (events: ChangeEvent[]) => {
      try {
        listener(events);
      } catch (err) {
        // A listener's bug must not fail the request that committed the change.
        process.emitWarning(`change listener failed: ${(err as Error).message}`);
      }
    };
    this.emitter.on('change', safe);
    return () => this.emitter.off('change', safe);
  }

  /** Events after `seq` (exclusive), oldest first, at most `limit`. */
  async since(seq: number, limit = 1000): Promise<ChangeEvent[]> {
    const rows = await this.db.selectFrom('changes').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute();
    return rows.map(toEvent);
  }

  async latestSeq(): Promise<number> {
    const r = await this.db.selectFrom('changes').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  /** Deletes events up to and including `seq` (what every reader has handled). */
  async prune(seq: number): Promise<void> {
    await this.db.deleteFrom('changes').where('seq', '<=', seq).execute();
  }

  private publish(events: ChangeEvent[]): void {
    if (events.length > 0) this.emitter.emit('change', events);
  }
}

async function insertChanges(trx: Transaction<Database>, reqs: ChangeRequest[]): Promise<ChangeEvent[]> {
  if (reqs.length === 0) return [];
  const at = new Date().toISOString();
  const rows = await trx
    .insertInto('changes')
    .values(reqs.map((r) => ({ kind: r.kind, resource_id: r.id, op: r.op, at })))
    .returning(['seq', 'kind', 'resource_id', 'op', 'at'])
    .execute();
  return rows.map(toEvent);
}

function toEvent(r: { seq: number; kind: string; resource_id: string; op: string; at: string }): ChangeEvent {
  return { seq: r.seq, kind: r.kind as ChangeKind, resourceId: r.resource_id, op: r.op as ChangeOp, at: r.at };
}

const FEEDS = new WeakMap<object, ChangeFeed>();

/** The one feed of a store: every writer and reader in the process must share it for listeners to hear all writes. */
export function changeFeedOf(db: Kysely<Database>): ChangeFeed {
  let feed = FEEDS.get(db);
  if (!feed) {
    feed = new ChangeFeed(db);
    FEEDS.set(db, feed);
  }
  return feed;
}
