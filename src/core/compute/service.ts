import type { AuthContext } from '../auth.js';
import { CloudError, notFound } from '../errors.js';
import { nowIso, uuid } from '../ids.js';
import { requireWriteOn } from '../policy.js';
import { changeFeedOf, type ChangeBatch, type ChangeFeed } from '../../store/changes.js';
import type { Db } from '../../store/db.js';
import { ComputeCatalogRepo, type ComputeNodeRow } from '../../store/compute/catalog.repo.js';
import { InstancesRepo, type Executor, type InstanceRow } from '../../store/compute/instances.repo.js';
import type { FlavorSnapshot } from '../../store/compute/schema.js';
import { FlavorService } from './flavors.js';
import type { ConsoleReader, HostFigures, HostFiguresData } from './host.js';
import { KeypairService } from './keypairs.js';
import type { ImagesForCompute, NetworkForCompute } from './neighbours.js';
import { QuotaService } from './quotas.js';
import type { ComputeSettings } from './settings.js';

/** What the compute core is built from; neighbours may be wired after construction as their cores land. */
export interface ComputeDeps {
  db: Db;
  settings: ComputeSettings;
  figures: HostFigures;
  network?: NetworkForCompute | undefined;
  images?: ImagesForCompute | undefined;
  console?: ConsoleReader | undefined;
}

/** A tiny FIFO mutex: scheduling decisions and the writes they justify happen one request at a time. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release: () => void = () => {};
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * The compute core: Nova's rules over the store. The API calls it; it
 * writes desired state with change events and never touches the host.
 */
export class ComputeCore {
  readonly catalog: ComputeCatalogRepo;
  readonly instances: InstancesRepo;
  readonly flavors: FlavorService;
  readonly quotas: QuotaService;
  readonly keypairs: KeypairService;
  readonly feed: ChangeFeed;
  readonly settings: ComputeSettings;
  figures: HostFigures;
  network: NetworkForCompute | undefined;
  images: ImagesForCompute | undefined;
  console: ConsoleReader | undefined;
  /** Serialises scheduling (capacity check + insert) so two creates never both take the last free RAM. */
  readonly schedulerLock = new Mutex();
  private hostChecked = false;

  constructor(deps: ComputeDeps) {
    this.catalog = new ComputeCatalogRepo(deps.db);
    this.instances = new InstancesRepo(deps.db);
    this.settings = deps.settings;
    this.figures = deps.figures;
    this.network = deps.network;
    this.images = deps.images;
    this.console = deps.console;
    this.flavors = new FlavorService(this.catalog);
    this.quotas = new QuotaService(this.catalog, this.instances, deps.settings);
    this.keypairs = new KeypairService(this.catalog, this.quotas);
    this.feed = changeFeedOf(deps.db);
  }

  /** The network core, or a 503 a person understands. */
  net(): NetworkForCompute {
    if (!this.network) throw new CloudError('ServiceUnavailable', 'The network service is not available in this cloud yet; servers with networks cannot be created.');
    return this.network;
  }

  img(): ImagesForCompute {
    if (!this.images) throw new CloudError('ServiceUnavailable', 'The image service is not available in this cloud yet; servers cannot be booted from images.');
    return this.images;
  }

  hostFigures(): Promise<HostFiguresData> {
    return this.figures.figures();
  }

  /** This host as a compute node/service, created on first use so its ids stay stable across restarts. */
  async node(): Promise<ComputeNodeRow> {
    const existing = await this.catalog.getNode();
    // The host name is checked once per process (a renamed machine keeps its node's ids).
    if (existing && this.hostChecked) return existing;
    const f = await this.hostFigures();
    this.hostChecked = true;
    if (existing) {
      if (existing.host !== f.hostname) {
        await this.catalog.updateNode(existing.id, { host: f.hostname, updated_at: nowIso() });
        return { ...existing, host: f.hostname };
      }
      return existing;
    }
    const now = nowIso();
    const row: ComputeNodeRow = {
      id: 1,
      uuid: uuid(),
      service_id: 1,
      service_uuid: uuid(),
      host: f.hostname,
      disabled: 0,
      disabled_reason: null,
      forced_down: 0,
      created_at: now,
      updated_at: now,
    };
    await this.catalog.insertNode(row);
    return (await this.catalog.getNode()) ?? row;
  }

  /** A live server the caller may see (admin: any), else Nova's 404. */
  async visibleServer(auth: AuthContext, id: string, ex?: Executor): Promise<InstanceRow> {
    const s = await this.instances.get(id, ex);
    if (!s || s.deleted || !(auth.isAdmin || s.project_id === auth.projectId)) throw notFound(`Instance ${id} could not be found.`);
    return s;
  }

  /** A live server the caller may change (member of its project, or admin). */
  async writableServer(auth: AuthContext, id: string, ex?: Executor): Promise<InstanceRow> {
    const s = await this.visibleServer(auth, id, ex);
    requireWriteOn(auth, s.project_id, `Instance ${id} could not be found.`);
    return s;
  }

  /** Runs a write of desired state in one transaction with its change events. */
  write<T>(fn: (trx: Executor, batch: ChangeBatch) => Promise<T>): Promise<T> {
    return this.feed.write(fn);
  }

  /** Records an instance action (os-instance-actions) with its API event, inside a write. */
  async recordAction(trx: Executor, s: { id: string; project_id: string }, auth: AuthContext, action: string, requestId: string, finished: boolean): Promise<number> {
    const now = nowIso();
    const id = await this.instances.insertAction(trx, {
      instance_id: s.id,
      request_id: requestId,
      action,
      project_id: auth.projectId ?? s.project_id,
      user_id: auth.userId,
      start_time: now,
      finish_time: finished ? now : null,
      message: null,
      updated_at: now,
    });
    await this.instances.insertEvent(trx, {
      action_id: id,
      event: `api_${action}`,
      start_time: now,
      finish_time: now,
      result: 'Success',
      traceback: null,
      host: null,
    });
    return id;
  }
}

const parsedFlavors = new Map<string, FlavorSnapshot>();

/**
 * The flavor a server runs with. Servers share a handful of flavor
 * snapshots, so parses are memoised by their text (list views read 500+).
 * Callers must not mutate the result.
 */
export function flavorOf(s: Pick<InstanceRow, 'flavor'>): FlavorSnapshot {
  let f = parsedFlavors.get(s.flavor);
  if (!f) {
    f = JSON.parse(s.flavor) as FlavorSnapshot;
    if (parsedFlavors.size > 1000) parsedFlavors.clear();
    parsedFlavors.set(s.flavor, f);
  }
  return f;
}
