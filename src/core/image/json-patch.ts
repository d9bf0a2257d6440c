import { badRequest, CloudError, conflict, forbidden } from '../errors.js';
import { checkBaseValue, checkCustomProperty, checkPropertyCount, checkWritableName, isWritableBase, type BaseValues } from './attributes.js';
import type { Image } from './types.js';

/**
 * Glance's image PATCH: a JSON array of add/replace/remove operations on
 * top-level attributes (base attributes and custom properties alike), in
 * the v2.1 (RFC 6902: {"op", "path", "value"}) or the older v2.0 ({"add":
 * "/path", "value"}) media type.
 */

export const PATCH_MEDIA_TYPES: Record<string, 4 | 10> = {
  'application/openstack-images-v2.0-json-patch': 4,
  'application/openstack-images-v2.1-json-patch': 10,
};

export const ACCEPT_PATCH = Object.keys(PATCH_MEDIA_TYPES).sort().join(', ');

const OPS = ['add', 'remove', 'replace'] as const;
export type PatchOpName = (typeof OPS)[number];

export interface PatchOp {
  op: PatchOpName;
  /** The attribute the path names (one level: Glance has no nested paths outside locations). */
  attr: string;
  value?: unknown;
}

/** Which patch dialect a Content-Type selects; 415 with Accept-Patch otherwise. */
export function patchDialect(contentType: string | undefined): 4 | 10 {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const d = PATCH_MEDIA_TYPES[base];
  if (d === undefined) {
    throw new CloudError(
      'UnsupportedMediaType',
      `Image updates are JSON patches: send Content-Type ${ACCEPT_PATCH.split(', ').join(' or ')} (got ${base || 'none'}).`,
      { headers: { 'Accept-Patch': ACCEPT_PATCH } },
    );
  }
  return d;
}

function decodePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw badRequest(`Pointer ${JSON.stringify(pointer) ?? 'undefined'} must be a string such as "/name".`);
  if (!pointer.startsWith('/')) throw badRequest(`Pointer \`${pointer}\` does not start with "/".`);
  if (/\/\s*?\//.test(pointer.slice(1))) throw badRequest(`Pointer \`${pointer}\` contains adjacent "/".`);
  if (pointer.length > 1 && pointer.endsWith('/')) throw badRequest(`Pointer \`${pointer}\` ends with "/".`);
  if (pointer.slice(1).trim() === '') throw badRequest(`Pointer \`${pointer}\` does not contain a valid token.`);
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) throw badRequest(`Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~').trim());
}

/** Parses and checks a patch body; throws Glance's 400/403 before anything is changed. */
export function parsePatch(body: unknown, dialect: 4 | 10): PatchOp[] {
  if (!Array.isArray(body)) throw badRequest('Request body must be a JSON array of operation objects, e.g. [{"op": "replace", "path": "/name", "value": "new"}].');
  return body.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest('Operations must be JSON objects.');
    const r = raw as Record<string, unknown>;
    let op: PatchOpName;
    let pointer: unknown;
    if (dialect === 10) {
      if (r['op'] === undefined) throw badRequest(`Unable to find \`op\` in JSON Schema change. It must be one of the following: ${OPS.join(', ')}.`);
      if (typeof r['op'] !== 'string' || !(OPS as readonly string[]).includes(r['op'])) {
        throw badRequest(`Invalid operation: \`${String(JSON.stringify(r['op']))}\`. It must be one of the following: ${OPS.join(', ')}.`);
      }
      op = r['op'] as PatchOpName;
      if (!('path' in r)) throw badRequest("Unable to find 'path' in JSON Schema change.");
      pointer = r['path'];
    } else {
      const present = OPS.filter((o) => o in r);
      if (present.length !== 1) throw badRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".');
      op = present[0] as PatchOpName;
      pointer = r[op];
    }
    const path = decodePointer(pointer);
    if (path.length !== 1) throw badRequest(`Invalid JSON pointer for this resource: '/${path.join('/')}'.`);
    const attr = path[0] ?? '';
    checkWritableName(attr);
    if (op === 'remove') return { op, attr };
    if (!('value' in r)) throw badRequest(`Operation "${op}" requires a member named "value".`);
    const value = r['value'];
    // Values are checked up front, as Glance validates each change against its schema before applying any.
    if (isWritableBase(attr)) checkBaseValue(attr, value);
    else checkCustomProperty(attr, value);
    return { op, attr, value };
  });
}

/** The result of applying a patch: the base attributes that changed and the new properties and tags. */
export interface PatchResult {
  base: BaseValues;
  properties: Record<string, string>;
  tags: string[];
}

/**
 * Applies operations in order to a copy of the image. Glance's semantics: add
 * sets (on a base attribute or a property, existing or not; the v2.0 dialect
 * refuses to add what exists), replace needs the property to exist, remove
 * works on custom properties only.
 */
export function applyPatch(image: Image, ops: PatchOp[], dialect: 4 | 10): PatchResult {
  const base: BaseValues = {};
  const properties = { ...image.properties };
  let tags = [...image.tags];
  for (const { op, attr, value } of ops) {
    const isBase = isWritableBase(attr);
    if (op === 'remove') {
      if (isBase) throw forbidden(`Property ${attr} may not be removed.`);
      if (!Object.hasOwn(properties, attr)) throw conflict(`Property ${attr} does not exist.`);
      delete properties[attr];
      continue;
    }
    if (op === 'add' && dialect === 4 && (isBase || Object.hasOwn(properties, attr))) throw conflict(`Property ${attr} already present.`);
    if (op === 'replace' && !isBase && !Object.hasOwn(properties, attr)) throw conflict(`Property ${attr} does not exist.`);
    if (isBase) {
      const v = checkBaseValue(attr, value);
      if (attr === 'tags') tags = v as string[];
      else (base as Record<string, unknown>)[attr] = v;
    } else {
      properties[attr] = checkCustomProperty(attr, value);
    }
  }
  checkPropertyCount(Object.keys(properties).length);
  return { base, properties, tags };
}
