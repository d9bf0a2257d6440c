import { CloudError } from '../../core/errors.js';
import { changeFeedOf, type ChangeBatch, type ChangeFeed } from '../changes.js';
import type { Db } from '../db.js';
import { IpamRepo } from './ipam.repo.js';
import { NetworkMetaRepo } from './meta.repo.js';
import { PortListReader } from './port-list-reader.js';
import { NetworksRepo } from './networks.repo.js';
import { PortsRepo } from './ports.repo.js';
import { RoutersRepo } from './routers.repo.js';
import { SecurityGroupsRepo } from './secgroups.repo.js';

/** Every Neutron repository, bound to one executor (the store, or one transaction). */
export class NetworkRepos {
  readonly networks: NetworksRepo;
  readonly ports: PortsRepo;
  readonly ipam: IpamRepo;
  readonly routers: RoutersRepo;
  readonly secgroups: SecurityGroupsRepo;
  readonly meta: NetworkMetaRepo;

  constructor(readonly db: Db, reader: () => PortListReader | undefined = () => undefined) {
    this.networks = new NetworksRepo(db);
    this.ports = new PortsRepo(db, reader);
    this.ipam = new IpamRepo(db);
    this.routers = new RoutersRepo(db);
    this.secgroups = new SecurityGroupsRepo(db);
    this.meta = new NetworkMetaRepo(db);
  }
}

/**
 * Neutron's store: `read` for queries outside a transaction, `write` for a
 * change: one transaction whose change events (see store/changes.ts) commit
 * with it and are published after it.
 */
export class NetworkStore {
  readonly read: NetworkRepos;
  readonly feed: ChangeFeed;
  private reader: PortListReader | undefined;

  constructor(readonly db: Db) {
    this.read = new NetworkRepos(db, () => this.reader);
    this.feed = changeFeedOf(db);
  }

  /** Serves port lists from a read-only connection to `file` (the store's database file; not for ':memory:'). */
  useReadConnection(file: string): void {
    if (this.reader || file === '' || file === ':memory:') return;
    this.reader = new PortListReader(file);
  }

  closeReadConnection(): void {
    this.reader?.close();
    this.reader = undefined;
  }

  /**
   * Runs `fn` in one transaction with its change events. A constraint the
   * code did not foresee (it checks first; the schema is the last word)
   * becomes a 409 the client may retry, never a 500.
   */
  async write<T>(fn: (r: NetworkRepos, changes: ChangeBatch) => Promise<T>): Promise<T> {
    try {
      return await this.feed.write((trx, batch) => fn(new NetworkRepos(trx), batch));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
        throw new CloudError('Conflict', `The change conflicts with the current state (${(err as Error).message}); read it again and retry.`, {
          type: 'Conflict',
          cause: err,
        });
      }
      throw err;
    }
  }
}

const STORES = new WeakMap<object, NetworkStore>();

/** The one NetworkStore of a database handle (the API and the reconcilers share it, and so its change feed). */
export function networkStoreOf(db: Db): NetworkStore {
  let s = STORES.get(db);
  if (!s) {
    s = new NetworkStore(db);
    STORES.set(db, s);
  }
  return s;
}
