import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { badRequest, CloudError } from '../../core/errors.js';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsImport as unknown as (ajv: Ajv, formats?: string[]) => Ajv;

/**
 * Nova validates bodies per microversion (a field allowed at 2.19 is a 400
 * at 2.1), so compute bodies are checked in the handler against the schema
 * of the request's version, with Nova's formats and Nova's error wording:
 * "Invalid input for field/attribute name. Value: . '' is too short".
 */

const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: false, coerceTypes: false, strict: false });
addFormats(ajv, ['ipv4', 'ipv6', 'uri', 'date-time']);

const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
/** Printable: no control characters, no separators other than a plain space. */
const PRINTABLE = /^[^\p{C}\p{Zl}\p{Zp}]*$/u;
const INVALID_NAME = "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.";

ajv.addFormat('uuid', { type: 'string', validate: (s: string) => UUID.test(s) });
ajv.addFormat('name', { type: 'string', validate: (s: string) => PRINTABLE.test(s) && s.trim() === s });
ajv.addFormat('az_name', { type: 'string', validate: (s: string) => PRINTABLE.test(s) && s.trim() === s && !s.includes(':') });
ajv.addFormat('name_with_leading_trailing_spaces', { type: 'string', validate: (s: string) => PRINTABLE.test(s) && s.trim() !== '' });
ajv.addFormat('base64', {
  type: 'string',
  validate: (s: string) => {
    const t = s.replace(/\s+/g, '');
    return /^[A-Za-z0-9+/]*={0,2}$/.test(t) && t.length % 4 !== 1;
  },
});
ajv.addFormat('regex', {
  type: 'string',
  validate: (s: string) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
});

const cache = new WeakMap<object, ValidateFunction>();

function compiled(schema: object): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    const s = JSON.stringify(v);
    return s.length > 200 ? `${s.slice(0, 200)}...` : s;
  } catch {
    return String(v);
  }
}

function valueAt(body: unknown, path: string): unknown {
  let cur: unknown = body;
  for (const part of path.split('/').slice(1)) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function explain(e: ErrorObject, body: unknown): CloudError {
  if (e.keyword === 'format' && ['name', 'az_name', 'name_with_leading_trailing_spaces'].includes(String(e.params['format']))) {
    return badRequest(INVALID_NAME);
  }
  const segments = e.instancePath.split('/').filter((p) => p !== '');
  let field = segments[segments.length - 1] ?? '';
  let value = valueAt(body, e.instancePath);
  let message = e.message ?? 'is invalid';
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String(e.params['additionalProperty']);
      return badRequest(
        `Additional properties are not allowed ('${extra}' was unexpected)${segments.length ? ` in ${segments.join('.')}` : ''}. Check the field names, and the microversion the field needs.`,
      );
    }
    case 'required':
      return badRequest(`'${String(e.params['missingProperty'])}' is a required property${segments.length ? ` of ${segments.join('.')}` : ''}.`);
    case 'enum':
      message = `'${show(value)}' is not one of ${JSON.stringify(e.params['allowedValues'])}`;
      break;
    case 'type':
      message = `${show(value)} is not of type '${String(e.params['type'])}'`;
      break;
    case 'minLength':
      message = `'${show(value)}' is too short`;
      break;
    case 'maxLength':
      message = `'${show(value)}' is too long`;
      break;
    case 'pattern':
      message = `'${show(value)}' does not match '${String(e.params['pattern'])}'`;
      break;
    case 'format':
      message = `'${show(value)}' is not a '${String(e.params['format'])}'`;
      break;
    case 'oneOf':
    case 'anyOf':
      message = `${show(value)} is not valid under any of the given schemas`;
      break;
    default:
      break;
  }
  if (!field) {
    field = 'body';
    value = body;
  }
  return badRequest(`Invalid input for field/attribute ${field}. Value: ${show(value)}. ${message}`);
}

/** Checks `body` against `schema` (a plain JSON schema); returns it typed, or throws Nova's 400. */
export function checkBody<T>(schema: object, body: unknown): T {
  if (body === undefined || body === null) throw badRequest('The request body is missing or empty: send a JSON object.');
  const fn = compiled(schema);
  if (!fn(body)) {
    const e = fn.errors?.[0];
    throw e ? explain(e, body) : badRequest('The request body is invalid.');
  }
  return body as T;
}

/** Nova's boolean strings ("true", "yes", "1", "on" and the opposites, any case). */
export function novaBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  return s === 'true' || s === '1' || s === 'yes' || s === 'on';
}
