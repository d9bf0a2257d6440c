import type { FastifyRequest } from 'fastify';
import { MIN_MICROVERSION, type Microversion } from '../../core/compute/microversion.js';
import { badRequest } from '../../core/errors.js';
import { secondsTime } from '../../core/ids.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The compute microversion this request asked for (set by the compute plugin). */
    microversion?: Microversion;
  }
}

/** The microversion of a compute request (2.1 when the hook did not run, e.g. version documents). */
export const mvOf = (req: FastifyRequest): Microversion => req.microversion ?? MIN_MICROVERSION;

/** URL roots: `api` is .../compute/v2.1, `bookmark` is .../compute (Nova's bookmark links drop the version). */
export interface Roots {
  api: string;
  bookmark: string;
}

export const links = (r: Roots, collection: string, id: string) => [
  { rel: 'self', href: `${r.api}/${collection}/${encodeURIComponent(id)}` },
  { rel: 'bookmark', href: `${r.bookmark}/${collection}/${encodeURIComponent(id)}` },
];

/** Nova prints times as 2026-11-26T17:00:00Z. */
export const novaTime = (iso: string | null): string | null => (iso === null ? null : secondsTime(iso));

/** Nova's usage timestamps (OS-SRV-USG:*) are naive: 2026-11-26T17:00:00.000000 */
export const usageTime = (iso: string | null): string | null => (iso === null ? null : iso.replace(/Z$/, '').replace(/\.(\d{3})$/, '.$1000'));

export type Query = Record<string, unknown>;

/** All values of a query parameter (repeated keys arrive as arrays). */
export function qAll(q: Query, key: string): string[] {
  const v = q[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

/** The last value of a query parameter (Nova reads the last of repeated keys for single-valued ones). */
export function qOne(q: Query, key: string): string | undefined {
  const all = qAll(q, key);
  return all.length ? all[all.length - 1] : undefined;
}

/** Nova's max_limit. */
export const MAX_LIMIT = 1000;

/** limit (non-negative integer, capped at MAX_LIMIT) and marker, or Nova's 400. */
export function pagination(q: Query): { limit: number; marker: string | undefined } {
  const raw = qOne(q, 'limit');
  let limit = MAX_LIMIT;
  if (raw !== undefined) {
    if (!/^\d+$/.test(raw)) throw badRequest(`limit param must be an integer (got "${raw}").`);
    limit = Math.min(MAX_LIMIT, Number(raw));
  }
  return { limit, marker: qOne(q, 'marker') };
}

/** Nova's "next" link: present when a page is full. */
export function nextLinks(req: FastifyRequest, api: string, collection: string, count: number, limit: number, lastId: string | undefined) {
  if (limit === 0 || count !== limit || lastId === undefined) return undefined;
  const q = new URLSearchParams();
  const params = req.query as Query;
  for (const k of Object.keys(params).sort()) {
    if (k === 'marker') continue;
    for (const v of qAll(params, k)) q.append(k, v);
  }
  q.set('marker', lastId);
  return [{ rel: 'next', href: `${api}/${collection}?${q.toString()}` }];
}

/** Nova-style boolean query values; throws 400 naming the parameter. */
export function qBool(q: Query, key: string): boolean | undefined {
  const v = qOne(q, key);
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(s)) return true;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(s)) return false;
  throw badRequest(`Invalid value '${v}' for ${key}: use true or false.`);
}

/** A regex filter as Nova applies it (Python re.search semantics), or 400. */
export function qRegex(q: Query, key: string): RegExp | undefined {
  const v = qOne(q, key);
  if (v === undefined) return undefined;
  try {
    return new RegExp(v);
  } catch {
    throw badRequest(`Invalid input for query parameters ${key}. Value: ${v}. '${v}' is not a 'regex'`);
  }
}

/** An ISO time filter (changes-since/changes-before), normalized for comparison with stored times. */
export function qTime(q: Query, key: string): string | undefined {
  const v = qOne(q, key);
  if (v === undefined) return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(t)) throw badRequest(`Invalid input for query parameters ${key}. Value: ${v}. '${v}' is not a 'date-time'`);
  return new Date(t).toISOString();
}
