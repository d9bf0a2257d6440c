import type { FastifyRequest } from 'fastify';
import { invalidAttr } from '../../core/network/errors.js';
import { applyList, type Item, type Query } from './query.js';

/** Helpers every Neutron route file shares. */

/** `If-Match: revision_number=N` (revision-if-match); undefined when the header does not constrain the revision. */
export function ifMatchRevision(req: FastifyRequest): number | undefined {
  const h = req.headers['if-match'];
  const text = Array.isArray(h) ? h.join(',') : h;
  if (!text) return undefined;
  const m = /revision_number=(\d+)/.exec(text);
  if (!m) return undefined;
  return Number(m[1]);
}

/** A list body: `{<collection>: [...]}` plus `<collection>_links` when paginated. */
export function listBody(collection: string, items: Item[], q: Query, selfUrl: string): Record<string, unknown> {
  const { items: page, links } = applyList(items, q, selfUrl);
  const body: Record<string, unknown> = { [collection]: page };
  if (links && links.length > 0) body[`${collection}_links`] = links;
  return body;
}

/** A single resource, projected on `fields` when given. */
export function showBody(key: string, item: Item, q: Query): Record<string, unknown> {
  const raw = q['fields'];
  const fields = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((f) => String(f).split(',')).filter(Boolean);
  if (fields.length === 0) return { [key]: item };
  return { [key]: Object.fromEntries(fields.filter((f) => f in item).map((f) => [f, item[f]])) };
}

/** Integers Neutron also takes as digit strings (port ranges). */
export function intOrNull(attr: string, v: number | string | null | undefined): number | null | undefined {
  if (v === undefined || v === null) return v;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw invalidAttr(attr, `'${String(v)}' is not an integer`);
  return n;
}
