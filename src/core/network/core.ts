import type { NetworkStore } from '../../store/network/store.js';
import type { NetworkRepos } from '../../store/network/store.js';
import type { NetworkRow } from '../../store/network/networks.repo.js';
import type { Caller } from './access.js';
import { networkNotFound, revisionMismatch } from './errors.js';
import type { NetworkSettings } from './settings.js';

/** What every Neutron operation works with. */
export interface NetCore {
  store: NetworkStore;
  settings: NetworkSettings;
}

/** Timestamps of one write: every row it touches gets the same one. */
export const stamp = (): string => new Date().toISOString();

/** Shared and external networks are visible to every project. */
export function networkVisible(c: Caller, n: NetworkRow): boolean {
  return c.isAdmin || n.project_id === c.projectId || n.shared === 1 || n.external === 1;
}

export async function visibleNetwork(r: NetworkRepos, c: Caller, id: string): Promise<NetworkRow> {
  const n = await r.networks.get(id);
  if (!n || !networkVisible(c, n)) throw networkNotFound(id);
  return n;
}

/** `If-Match: revision_number=N` (Neutron's revision-if-match extension); undefined when absent. */
export function checkRevision(expected: number | undefined, current: number): void {
  if (expected !== undefined && expected !== current) throw revisionMismatch(expected, current);
}
