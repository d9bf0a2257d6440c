import { badRequest, CloudError, forbidden } from '../errors.js';
import { isContainerFormat, isDiskFormat, CONTAINER_FORMATS, DISK_FORMATS } from './formats.js';
import { LIMITS, VISIBILITIES } from './types.js';

/**
 * Glance's rules for what a client may write on an image: the base
 * attributes with their types, the read-only and reserved names, and custom
 * properties (any other key, string values only).
 */

/** Base attributes a client may write (create body or patch path). */
export const WRITABLE_BASE = ['name', 'visibility', 'protected', 'os_hidden', 'owner', 'container_format', 'disk_format', 'min_ram', 'min_disk', 'tags'] as const;
export type WritableBase = (typeof WRITABLE_BASE)[number];

/** Never writable by a client; Glance answers 403. */
export const READ_ONLY = new Set([
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'id',
  'os_hash_algo',
  'os_hash_value',
  'stores',
  'locations',
]);

/** Reserved names and the reserved namespace prefix. */
export const RESERVED = new Set(['location', 'deleted', 'deleted_at']);
export const RESERVED_PREFIX = 'os_glance';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isWritableBase(key: string): key is WritableBase {
  return (WRITABLE_BASE as readonly string[]).includes(key);
}

/** Values of the writable base attributes, typed. */
export interface BaseValues {
  name?: string | null;
  visibility?: (typeof VISIBILITIES)[number];
  protected?: boolean;
  os_hidden?: boolean;
  owner?: string | null;
  container_format?: string | null;
  disk_format?: string | null;
  min_ram?: number;
  min_disk?: number;
  tags?: string[];
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Refuses read-only and reserved names with Glance's 403. */
export function checkWritableName(key: string): void {
  if (READ_ONLY.has(key)) throw forbidden(`Attribute '${key}' is read-only.`);
  if (RESERVED.has(key) || key.startsWith(RESERVED_PREFIX)) throw forbidden(`Attribute '${key}' is reserved.`);
}

/** Validates one base attribute's value; throws a 400 naming the attribute and what it accepts. */
export function checkBaseValue(key: WritableBase, v: unknown): BaseValues[WritableBase] {
  const bad = (wants: string) => badRequest(`Invalid value ${describe(v)} for attribute '${key}': ${wants}, not ${typeName(v)}.`);
  switch (key) {
    case 'name':
      if (v !== null && typeof v !== 'string') throw bad('it must be a string or null');
      if (typeof v === 'string' && v.length > LIMITS.nameLength) throw badRequest(`Attribute 'name' is longer than ${LIMITS.nameLength} characters.`);
      return v;
    case 'owner':
      if (v !== null && typeof v !== 'string') throw bad('it must be a project id (a string) or null');
      if (typeof v === 'string' && v.length > 255) throw badRequest("Attribute 'owner' is longer than 255 characters.");
      return v;
    case 'visibility':
      if (typeof v !== 'string' || !(VISIBILITIES as readonly string[]).includes(v)) {
        throw badRequest(`Invalid value ${describe(v)} for attribute 'visibility': it must be one of ${VISIBILITIES.join(', ')}.`);
      }
      return v as BaseValues['visibility'];
    case 'protected':
    case 'os_hidden':
      if (typeof v !== 'boolean') throw bad('it must be true or false');
      return v;
    case 'disk_format':
      if (v !== null && !isDiskFormat(v)) {
        throw badRequest(`Invalid value ${describe(v)} for attribute 'disk_format': it must be one of ${DISK_FORMATS.join(', ')}.`);
      }
      return v;
    case 'container_format':
      if (v !== null && !isContainerFormat(v)) {
        throw badRequest(`Invalid value ${describe(v)} for attribute 'container_format': it must be one of ${CONTAINER_FORMATS.join(', ')}.`);
      }
      return v;
    case 'min_ram':
    case 'min_disk':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(`it must be an integer (${key === 'min_ram' ? 'MB' : 'GB'})`);
      if (v < 0) throw badRequest(`Invalid value ${v} for attribute '${key}': it cannot be negative.`);
      return v;
    case 'tags': {
      if (!Array.isArray(v)) throw bad('it must be an array of strings');
      for (const t of v) checkTag(t);
      const tags = [...new Set(v as string[])];
      if (tags.length > LIMITS.tags) throw new CloudError('PayloadTooLarge', `An image may have at most ${LIMITS.tags} tags; ${tags.length} were given.`);
      return tags;
    }
  }
}

/** A tag is a non-empty string of at most 255 characters. */
export function checkTag(t: unknown): string {
  if (typeof t !== 'string') throw badRequest(`Invalid tag ${describe(t)}: tags are strings.`);
  if (t.length === 0) throw badRequest('Invalid tag: a tag cannot be empty.');
  if (t.length > LIMITS.tagLength) throw badRequest(`Invalid tag: tags are at most ${LIMITS.tagLength} characters.`);
  return t;
}

/** Validates a custom property (key and string value). */
export function checkCustomProperty(key: string, v: unknown): string {
  if (key.length === 0) throw badRequest('A property name cannot be empty.');
  if (key.length > LIMITS.propertyKeyLength) throw badRequest(`Custom property names are at most ${LIMITS.propertyKeyLength} characters.`);
  if (key === '__proto__') throw forbidden(`Attribute '${key}' is reserved.`);
  checkWritableName(key);
  if (typeof v !== 'string') {
    throw badRequest(`Invalid value ${describe(v)} for property '${key}': custom properties take string values, not ${typeName(v)}.`);
  }
  if (v.length > LIMITS.propertyValueLength) throw badRequest(`Property '${key}' is longer than ${LIMITS.propertyValueLength} characters.`);
  return v;
}

/** Glance's image_property_quota: too many properties is a 413. */
export function checkPropertyCount(n: number): void {
  if (n > LIMITS.properties) {
    throw new CloudError('PayloadTooLarge', `An image may have at most ${LIMITS.properties} custom properties; this request would give it ${n}.`);
  }
}

/** Validates an image id given at create time. */
export function checkImageId(v: unknown): string {
  if (typeof v !== 'string' || !UUID.test(v)) throw badRequest(`Invalid value ${describe(v)} for attribute 'id': it must be a UUID.`);
  return v.toLowerCase();
}

/** What a create body turns into, validated. */
export interface CreateRequest {
  id?: string;
  base: BaseValues;
  properties: Record<string, string>;
}

/** Validates a create body (a JSON object) the way Glance does. */
export function parseCreateBody(body: unknown): CreateRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object with the image attributes, e.g. {"name": "cirros", "disk_format": "qcow2", "container_format": "bare"}.');
  }
  const out: CreateRequest = { base: {}, properties: {} };
  for (const [key, v] of Object.entries(body as Record<string, unknown>)) {
    if (key === 'id') {
      out.id = checkImageId(v);
    } else if (isWritableBase(key)) {
      (out.base as Record<string, unknown>)[key] = checkBaseValue(key, v);
    } else {
      out.properties[key] = checkCustomProperty(key, v);
    }
  }
  checkPropertyCount(Object.keys(out.properties).length);
  return out;
}
