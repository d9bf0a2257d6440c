import type { Api } from '../../api/client';
import type { Server } from '../../api/types';

export type ServerAction = 'start' | 'stop' | 'reboot' | 'snapshot' | 'delete';

const BODY: Record<Exclude<ServerAction, 'delete' | 'snapshot'>, unknown> = {
  start: { 'os-start': null },
  stop: { 'os-stop': null },
  reboot: { reboot: { type: 'SOFT' } },
};

/** The states each action is offered in (Nova refuses the others with 409 anyway). */
const ALLOWED: Record<ServerAction, string[] | undefined> = {
  start: ['SHUTOFF'],
  stop: ['ACTIVE', 'ERROR'],
  reboot: ['ACTIVE', 'SHUTOFF'],
  snapshot: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'],
  delete: undefined,
};

/** Why an action cannot run on this server now, or undefined when it can. */
export function actionBlocked(action: ServerAction, server: Server): string | undefined {
  const ok = ALLOWED[action];
  if (server['OS-EXT-STS:task_state'] && action !== 'delete') {
    return `Wait: the instance is busy (${server['OS-EXT-STS:task_state']}).`;
  }
  if (ok && !ok.includes(server.status)) return `${action[0]?.toUpperCase() ?? ''}${action.slice(1)} needs the instance ${ok.join(' or ')}; it is ${server.status}.`;
  return undefined;
}

/** Runs one action through Nova's API. */
export async function runAction(api: Api, server: Server, action: ServerAction, snapshotName?: string): Promise<void> {
  if (action === 'delete') return api.delete('compute', `/servers/${server.id}`);
  if (action === 'snapshot') {
    await api.post('compute', `/servers/${server.id}/action`, { createImage: { name: snapshotName ?? `${server.name}-snapshot` } });
    return;
  }
  await api.req('compute', `/servers/${server.id}/action`, { method: 'POST', body: BODY[action] });
}

/** All addresses of a server, fixed first. */
export function addressesOf(server: Server): { network: string; addr: string; type: string }[] {
  return Object.entries(server.addresses ?? {}).flatMap(([network, list]) =>
    list.map((a) => ({ network, addr: a.addr, type: a['OS-EXT-IPS:type'] ?? 'fixed' })),
  );
}
