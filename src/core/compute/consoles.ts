import { createHash, randomBytes } from 'node:crypto';
import type { AuthContext } from '../auth.js';
import { badRequest, conflict } from '../errors.js';
import { nowIso } from '../ids.js';
import type { ComputeCore } from './service.js';
import { TASK, VM } from './states.js';

/**
 * Console access as Nova's console auth does it: a URL carrying a random,
 * short-lived token bound to one instance. Only the token's sha256 is
 * stored; the websocket proxy calls `consoleTokenTarget` to admit a
 * connection. Nothing listens for VNC on a TCP port.
 */

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Where the noVNC client is served and where its websocket connects (the proxy registers these paths). */
export const NOVNC_PAGE = '/console/novnc/vnc_lite.html';
export const NOVNC_WEBSOCKET = 'console/websockify';

export interface ConsoleUrl {
  protocol: string;
  type: string;
  url: string;
}

/**
 * A novnc URL for a running server. Other protocols are a 400 naming what
 * works; a server that is not running is Nova's 409 "not ready".
 */
export async function createConsole(core: ComputeCore, auth: AuthContext, id: string, protocol: string, type: string, baseUrl: string): Promise<ConsoleUrl> {
  const s = await core.writableServer(auth, id);
  if (protocol !== 'vnc' || (type !== 'novnc' && type !== 'xvpvnc')) {
    throw badRequest(`Unavailable console type ${type}: this cloud serves protocol vnc with type novnc (openstack console url show --novnc).`);
  }
  if (type === 'xvpvnc') throw badRequest('Unavailable console type xvpvnc: use novnc.');
  if (s.task_state === TASK.DELETING || s.task_state === TASK.MIGRATING) {
    throw conflict(`Cannot 'get_vnc_console' instance ${id} while it is in task_state ${s.task_state}`);
  }
  if (!s.host || (s.vm_state !== VM.ACTIVE && s.vm_state !== VM.PAUSED) || !s.launched_at) {
    throw conflict(`Instance ${id} is not ready: its console is available once it runs (status is ${s.vm_state}).`);
  }
  const token = randomBytes(24).toString('base64url');
  const now = new Date();
  await core.catalog.insertConsoleToken({
    token_hash: hashToken(token),
    instance_id: id,
    protocol,
    type,
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + core.settings.consoleTokenTtlSeconds * 1000).toISOString(),
  });
  const path = encodeURIComponent(`${NOVNC_WEBSOCKET}?token=${token}`);
  return { protocol, type, url: `${baseUrl}${NOVNC_PAGE}?path=${path}` };
}

/** The instance a console token admits to, or undefined when it is unknown, expired or its server is gone. */
export async function consoleTokenTarget(core: ComputeCore, token: string): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) return undefined;
  const row = await core.catalog.getConsoleToken(hashToken(token));
  if (!row || row.expires_at <= nowIso()) return undefined;
  const s = await core.instances.get(row.instance_id);
  if (!s || s.deleted) return undefined;
  return row.instance_id;
}

/** os-getConsoleOutput: the last `length` lines of the serial log (all when undefined). */
export async function consoleOutput(core: ComputeCore, auth: AuthContext, id: string, length: number | undefined): Promise<string> {
  const s = await core.writableServer(auth, id);
  if (!s.host || s.claimed_at === null) throw conflict(`Instance ${id} is not ready: it has not started on a host yet, so it has no console output.`);
  if (!core.console) return '';
  const out = await core.console.read(id, length);
  return out ?? '';
}
