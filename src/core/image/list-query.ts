import { badRequest } from '../errors.js';
import { MEMBER_STATUSES, VISIBILITIES, type MemberStatus, type Visibility } from './types.js';

/**
 * Glance's list parameters: filters (with the `in:` operator on string
 * columns and comparison operators on times), unknown keys as custom
 * property filters, both sort syntaxes, limit and marker.
 */

export const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'] as const;
export type ListSortKey = (typeof SORT_KEYS)[number];
export type ListTimeOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;

/** A list request, validated; the marker is still an id. */
export interface ListRequest {
  visibility?: Visibility | 'all';
  memberStatus: MemberStatus | 'all';
  ids?: string[];
  names?: string[];
  statuses?: string[];
  diskFormats?: string[];
  containerFormats?: string[];
  owner?: string;
  sizeMin?: number;
  sizeMax?: number;
  protected?: boolean;
  hidden: boolean;
  tags: string[];
  properties: Record<string, string>;
  times: { column: 'created_at' | 'updated_at'; op: ListTimeOp; value: string }[];
  sort: { key: ListSortKey; dir: 'asc' | 'desc' }[];
  marker?: string;
  limit: number;
}

export type RawQuery = Record<string, unknown>;

const all = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
const last = (v: unknown): string | undefined => all(v).at(-1);

function bool(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes') return true;
  if (s === 'false' || s === '0' || s === 'no') return false;
  throw badRequest(`Invalid value '${v}' for ${name}: use true or false.`);
}

function nonNegative(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\s*\d{1,15}\s*$/.test(v)) throw badRequest(`Invalid value '${v}' for ${name}: it must be a non-negative integer (bytes).`);
  return Number(v);
}

/** Splits `in:a,b,"c,d"` (Glance's list operator); a plain value is a one-element list. */
export function splitIn(v: string): string[] {
  if (!v.startsWith('in:')) return [v];
  const out: string[] = [];
  const s = v.slice(3);
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] ?? '';
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw badRequest(`Invalid filter value ${v}: a quote is not closed.`);
  out.push(cur);
  return out;
}

function timeFilter(column: 'created_at' | 'updated_at', v: string): ListRequest['times'][number] {
  const m = /^(gt|gte|lt|lte|eq|neq):(.+)$/.exec(v);
  const op = (m?.[1] ?? 'eq') as ListTimeOp;
  const when = m?.[2] ?? v;
  const t = Date.parse(when);
  if (Number.isNaN(t)) throw badRequest(`Invalid ${column} filter '${v}': use an operator and an ISO 8601 time, e.g. gt:2024-01-01T00:00:00Z.`);
  return { column, op, value: new Date(t).toISOString() };
}

function sortKey(k: string): ListSortKey {
  const key = k.trim();
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    throw badRequest(`Invalid sort key: ${key}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
  }
  return key as ListSortKey;
}

function sortDir(d: string): 'asc' | 'desc' {
  const dir = d.trim();
  if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid sort direction: ${dir}. Use asc or desc.`);
  return dir;
}

const CONSUMED = new Set([
  'limit',
  'marker',
  'sort',
  'sort_key',
  'sort_dir',
  'member_status',
  'visibility',
  'tag',
  'id',
  'name',
  'status',
  'disk_format',
  'container_format',
  'owner',
  'size_min',
  'size_max',
  'protected',
  'os_hidden',
  'created_at',
  'updated_at',
]);

/** Validates a list query string; throws Glance's 400s. */
export function parseListQuery(q: RawQuery): ListRequest {
  if (q['changes-since'] !== undefined) throw badRequest('The "changes-since" filter is no longer available on v2.');
  const out: ListRequest = { memberStatus: 'accepted', hidden: false, tags: [], properties: {}, times: [], sort: [], limit: DEFAULT_LIMIT };

  const limit = last(q['limit']);
  if (limit !== undefined) {
    if (!/^\s*-?\d+\s*$/.test(limit)) throw badRequest('limit param must be an integer');
    const n = Number(limit);
    if (n < 0) throw badRequest('limit param must be positive');
    out.limit = Math.min(n, MAX_LIMIT);
  }
  const marker = last(q['marker']);
  if (marker !== undefined) out.marker = marker;

  const vis = last(q['visibility']);
  if (vis !== undefined) {
    if (vis !== 'all' && !(VISIBILITIES as readonly string[]).includes(vis)) throw badRequest(`Invalid visibility value: ${vis}. Use public, private, shared, community or all.`);
    out.visibility = vis as Visibility | 'all';
  }
  const ms = last(q['member_status']);
  if (ms !== undefined) {
    if (ms !== 'all' && !(MEMBER_STATUSES as readonly string[]).includes(ms)) throw badRequest(`Invalid status: ${ms}. Use pending, accepted, rejected or all.`);
    out.memberStatus = ms as MemberStatus | 'all';
  }

  const listOf = (key: string): string[] | undefined => {
    const v = last(q[key]);
    return v === undefined ? undefined : splitIn(v);
  };
  const ids = listOf('id');
  if (ids) out.ids = ids;
  const names = listOf('name');
  if (names) out.names = names;
  const statuses = listOf('status');
  if (statuses) out.statuses = statuses;
  const dfs = listOf('disk_format');
  if (dfs) out.diskFormats = dfs;
  const cfs = listOf('container_format');
  if (cfs) out.containerFormats = cfs;
  const owner = last(q['owner']);
  if (owner !== undefined) out.owner = owner;
  const sizeMin = nonNegative('size_min', last(q['size_min']));
  if (sizeMin !== undefined) out.sizeMin = sizeMin;
  const sizeMax = nonNegative('size_max', last(q['size_max']));
  if (sizeMax !== undefined) out.sizeMax = sizeMax;
  const prot = bool('protected', last(q['protected']));
  if (prot !== undefined) out.protected = prot;
  out.hidden = bool('os_hidden', last(q['os_hidden'])) ?? false;
  out.tags = all(q['tag']).map((t) => t.trim());
  for (const c of ['created_at', 'updated_at'] as const) for (const v of all(q[c])) out.times.push(timeFilter(c, v));

  // Sorting: the "sort=key:dir,..." syntax, or repeated sort_key/sort_dir; never both.
  const sort = last(q['sort']);
  const keys = all(q['sort_key']);
  const dirs = all(q['sort_dir']);
  if (sort !== undefined) {
    if (keys.length || dirs.length) throw badRequest('Old and new sorting syntax cannot be combined');
    for (const part of sort.trim().split(',')) {
      const [k = '', d] = part.split(':');
      out.sort.push({ key: sortKey(k), dir: d === undefined || d.trim() === '' ? 'desc' : sortDir(d) });
    }
  } else {
    const ds = dirs.map(sortDir);
    if (ds.length > 1 && ds.length !== keys.length) throw badRequest('Number of sort dirs does not match the number of sort keys');
    const ks = keys.length ? keys.map(sortKey) : ['created_at' as const];
    out.sort = ks.map((key, i) => ({ key, dir: ds.length > 1 ? (ds[i] ?? 'desc') : (ds[0] ?? 'desc') }));
  }

  for (const [k, v] of Object.entries(q)) {
    if (CONSUMED.has(k)) continue;
    const val = last(v);
    if (val !== undefined) out.properties[k] = val;
  }
  return out;
}
