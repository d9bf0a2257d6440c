import { badRequest, CloudError } from '../../core/errors.js';
import { invalidAttr } from '../../core/network/errors.js';

/**
 * Neutron's list semantics over rendered resources: a filter on any
 * attribute (a repeated key means OR), tags/tags-any/not-tags/not-tags-any,
 * fixed_ips sub-filters for ports, `fields`, sort_key/sort_dir, and
 * limit/marker/page_reverse pagination with `<collection>_links`.
 */

export type Query = Record<string, unknown>;
export type Item = Record<string, unknown>;

const CONTROL = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any', 'changed_since']);

/** Every value of a query key (repeated keys arrive as arrays). */
export function valuesOf(q: Query, key: string): string[] {
  const v = q[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

export function firstOf(q: Query, key: string): string | undefined {
  return valuesOf(q, key)[0];
}

/** The values of a simple filter, for the repositories to narrow the query in SQL (the full filter still runs here). */
export function sqlFilter(q: Query, key: string): string[] | undefined {
  const v = valuesOf(q, key);
  return v.length > 0 ? v : undefined;
}

function parseBool(attr: string, s: string): boolean {
  const l = s.toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  throw invalidAttr(attr, `'${s}' is not a valid boolean value`);
}

function matches(attr: string, have: unknown, wanted: string[]): boolean {
  if (typeof have === 'boolean') return wanted.some((w) => parseBool(attr, w) === have);
  if (typeof have === 'number') {
    return wanted.some((w) => {
      const n = Number(w);
      if (w.trim() === '' || Number.isNaN(n)) throw invalidAttr(attr, `'${w}' is not an integer`);
      return n === have;
    });
  }
  if (have === null || have === undefined) return wanted.some((w) => w === '' || w === 'None' || w === 'null');
  if (typeof have === 'string') return wanted.includes(have);
  if (Array.isArray(have)) return have.some((h) => typeof h === 'string' && wanted.includes(h));
  // Objects (external_gateway_info, binding:profile) are not filterable: Neutron ignores such filters.
  return true;
}

/** fixed_ips=ip_address=X, fixed_ips=subnet_id=Y, fixed_ips=ip_address_substr=Z: one of the port's addresses must satisfy all given. */
function fixedIpsMatcher(values: string[]): (item: Item) => boolean {
  const want: Record<'ip_address' | 'subnet_id' | 'ip_address_substr', string[]> = { ip_address: [], subnet_id: [], ip_address_substr: [] };
  for (const v of values) {
    const eq = v.indexOf('=');
    const k = eq < 0 ? '' : v.slice(0, eq);
    if (k !== 'ip_address' && k !== 'subnet_id' && k !== 'ip_address_substr') {
      throw invalidAttr('fixed_ips', `'${v}' is not a valid filter: use ip_address=..., subnet_id=... or ip_address_substr=...`);
    }
    want[k].push(v.slice(eq + 1));
  }
  return (item) => {
    const ips = Array.isArray(item['fixed_ips']) ? (item['fixed_ips'] as { ip_address: string; subnet_id: string }[]) : [];
    return ips.some(
      (f) =>
        (want.ip_address.length === 0 || want.ip_address.includes(f.ip_address)) &&
        (want.subnet_id.length === 0 || want.subnet_id.includes(f.subnet_id)) &&
        (want.ip_address_substr.length === 0 || want.ip_address_substr.some((s) => f.ip_address.includes(s))),
    );
  };
}

function tagList(q: Query, key: string): string[] {
  return valuesOf(q, key).flatMap((v) => v.split(',')).filter((t) => t !== '');
}

function tagMatcher(q: Query): ((item: Item) => boolean) | undefined {
  const all = tagList(q, 'tags');
  const any = tagList(q, 'tags-any');
  const notAll = tagList(q, 'not-tags');
  const notAny = tagList(q, 'not-tags-any');
  if (all.length + any.length + notAll.length + notAny.length === 0) return undefined;
  return (item) => {
    const have = new Set(Array.isArray(item['tags']) ? (item['tags'] as string[]) : []);
    if (all.length && !all.every((t) => have.has(t))) return false;
    if (any.length && !any.some((t) => have.has(t))) return false;
    if (notAll.length && notAll.every((t) => have.has(t))) return false;
    if (notAny.length && notAny.some((t) => have.has(t))) return false;
    return true;
  };
}

/** Keeps the items that satisfy every filter of the query. */
export function filterItems(items: Item[], q: Query): Item[] {
  // Every item of a list has the same attributes; the first one tells which filters apply.
  const known = new Set(Object.keys(items[0] ?? {}));
  const tests: ((item: Item) => boolean)[] = [];
  for (const key of Object.keys(q)) {
    if (CONTROL.has(key)) continue;
    const wanted = valuesOf(q, key);
    if (wanted.length === 0) continue;
    if (key === 'fixed_ips') {
      tests.push(fixedIpsMatcher(wanted));
      continue;
    }
    // Unknown attributes are ignored, as Neutron does without filter-validation.
    if (!known.has(key)) continue;
    tests.push((item) => matches(key, item[key], wanted));
  }
  const tags = tagMatcher(q);
  if (tags) tests.push(tags);
  const since = firstOf(q, 'changed_since');
  if (since !== undefined) {
    // standard-attr-timestamp: resources updated at or after the given time.
    const t = Date.parse(since);
    if (Number.isNaN(t)) throw invalidAttr('changed_since', `'${since}' is not a valid ISO 8601 time (e.g. 2024-01-31T12:00:00Z)`);
    tests.push((item) => typeof item['updated_at'] === 'string' && Date.parse(item['updated_at']) >= t);
  }
  return tests.length === 0 ? items : items.filter((i) => tests.every((t) => t(i)));
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

interface SortSpec {
  key: string;
  dir: 1 | -1;
}

function sortSpecs(q: Query, items: Item[]): SortSpec[] {
  const keys = valuesOf(q, 'sort_key');
  const dirs = valuesOf(q, 'sort_dir');
  if (dirs.length > 0 && dirs.length !== keys.length) throw badRequest('The number of sort_keys and sort_dirs must be same');
  const sample = items[0];
  return keys.map((key, i) => {
    const d = (dirs[i] ?? 'asc').toLowerCase();
    if (d !== 'asc' && d !== 'desc') throw badRequest(`${dirs[i] ?? ''} is an invalid value for sort_dir, valid value is 'asc' and 'desc'`);
    const v = sample?.[key];
    if (sample && (!(key in sample) || (typeof v === 'object' && v !== null))) {
      throw badRequest(`${key} is an invalid attribute for sort_keys`);
    }
    return { key, dir: d === 'asc' ? 1 : -1 };
  });
}

export interface ListResult {
  items: Item[];
  links: { href: string; rel: 'next' | 'previous' }[] | undefined;
}

/**
 * Filters, sorts, paginates and projects a list. `selfUrl` is the
 * collection URL the links point at (without query string).
 */
export function applyList(all: Item[], q: Query, selfUrl: string): ListResult {
  if (Object.keys(q).length === 0) return { items: all, links: undefined };
  let items = filterItems(all, q);
  const specs = sortSpecs(q, items);
  if (specs.length > 0) {
    specs.push({ key: 'id', dir: specs[specs.length - 1]?.dir ?? 1 });
    items = [...items].sort((a, b) => {
      for (const s of specs) {
        const c = compare(a[s.key], b[s.key]);
        if (c !== 0) return c * s.dir;
      }
      return 0;
    });
  }
  const limitText = firstOf(q, 'limit');
  const marker = firstOf(q, 'marker');
  const reverse = (firstOf(q, 'page_reverse') ?? 'false').toLowerCase() === 'true';
  let links: ListResult['links'];
  if (limitText !== undefined || marker !== undefined) {
    const limit = limitText === undefined ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) throw invalidAttr('limit', `'${limitText ?? ''}' is not a non-negative integer`);
    let start = 0;
    let end = items.length;
    if (marker !== undefined) {
      const at = items.findIndex((i) => i['id'] === marker);
      if (at < 0) throw new CloudError('NotFound', `Marker ${marker} could not be found in this list.`, { type: 'HTTPNotFound' });
      if (reverse) end = at;
      else start = at + 1;
    }
    if (limit > 0) {
      if (reverse) start = Math.max(start, end - limit);
      else end = Math.min(end, start + limit);
    }
    const page = items.slice(start, end);
    links = pageLinks(q, selfUrl, page, limit, marker !== undefined, reverse ? start > 0 : end < items.length);
    items = page;
  }
  const fields = valuesOf(q, 'fields').flatMap((f) => f.split(',')).filter((f) => f !== '');
  if (fields.length > 0) {
    items = items.map((i) => Object.fromEntries(fields.filter((f) => f in i).map((f) => [f, i[f]])));
  }
  return { items, links };
}

function pageLinks(q: Query, selfUrl: string, page: Item[], limit: number, hadMarker: boolean, more: boolean): ListResult['links'] {
  const links: { href: string; rel: 'next' | 'previous' }[] = [];
  const first = page[0]?.['id'];
  const last = page[page.length - 1]?.['id'];
  const base = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (k === 'marker' || k === 'page_reverse') continue;
    for (const x of Array.isArray(v) ? v : [v]) base.append(k, String(x));
  }
  const href = (marker: unknown, reverse: boolean) => {
    const p = new URLSearchParams(base);
    if (limit > 0 && !p.has('limit')) p.set('limit', String(limit));
    p.set('marker', String(marker));
    if (reverse) p.set('page_reverse', 'True');
    return `${selfUrl}?${p.toString()}`;
  };
  if (limit > 0 && page.length === limit && more && last !== undefined) links.push({ href: href(last, false), rel: 'next' });
  if (hadMarker && first !== undefined) links.push({ href: href(first, true), rel: 'previous' });
  return links;
}
