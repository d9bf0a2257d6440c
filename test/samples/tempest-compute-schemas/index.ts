import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { REPO_ROOT } from '../../helpers/cloud.js';

/**
 * Tempest's compute response schemas (Debian's python3-tempest, converted
 * by convert.py into this directory) as an independent oracle: pick the
 * schema module a tempest service client uses at a microversion, exactly as
 * the client's schema_versions_info does, and validate a response with it.
 */

const addFormats = addFormatsImport as unknown as (ajv: Ajv, formats?: string[]) => Ajv;

const DIR = join(REPO_ROOT, 'test', 'samples', 'tempest-compute-schemas');

interface Range {
  min: string | null;
  max: string | null;
  module: string;
}

interface TempestSchema {
  status_code: number[];
  response_body?: object;
  response_header?: object;
}

const clients = JSON.parse(readFileSync(join(DIR, 'clients.json'), 'utf8')) as Record<string, Range[]>;

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv, ['ipv4', 'ipv6', 'uri', 'date-time']);
ajv.addFormat('uuid', /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/);
ajv.addFormat('iso8601-date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`)) });
ajv.addFormat('base64', /^[A-Za-z0-9+/\s]*={0,2}$/);

const num = (v: string): [number, number] => {
  const [a, b] = v.split('.').map(Number);
  return [a ?? 0, b ?? 0];
};
const le = (a: string, b: string): boolean => {
  const [x1, y1] = num(a);
  const [x2, y2] = num(b);
  return x1 < x2 || (x1 === x2 && y1 <= y2);
};

/** The schema `name` of tempest client `client` (e.g. servers_client, get_server) at microversion `version`. */
export function tempestSchema(client: string, name: string, version: string): TempestSchema {
  // A module path such as "v2_1/flavors_access" names a schema module directly (helpers a client imports unversioned).
  const ranges = client.startsWith('v2_') ? [{ min: null, max: null, module: client }] : clients[client];
  if (!ranges) throw new Error(`tempest has no client ${client}`);
  const r = ranges.find((x) => (x.min === null || le(x.min, version)) && (x.max === null || le(version, x.max)));
  if (!r) throw new Error(`no ${client} schema for ${version}`);
  const [dir, mod] = r.module.split('/');
  const schemas = JSON.parse(readFileSync(join(DIR, dir ?? '', `${mod ?? ''}.json`), 'utf8')) as Record<string, TempestSchema>;
  const s = schemas[name];
  if (!s) throw new Error(`${r.module} has no schema ${name}`);
  return s;
}

const compiled = new Map<string, ValidateFunction>();

/** Problems of a response against tempest's schema (status and body); empty when it conforms. */
export function tempestProblems(client: string, name: string, version: string, status: number, body: unknown): string[] {
  const s = tempestSchema(client, name, version);
  const out: string[] = [];
  if (!s.status_code.includes(status)) out.push(`status ${status}, tempest expects ${s.status_code.join('/')}`);
  if (s.response_body) {
    const key = `${client}/${name}/${version}`;
    let fn = compiled.get(key);
    if (!fn) {
      fn = ajv.compile(s.response_body);
      compiled.set(key, fn);
    }
    if (!fn(body)) out.push(...(fn.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`));
  } else if (body !== undefined && body !== '') {
    out.push(`tempest expects no body, got ${JSON.stringify(body).slice(0, 200)}`);
  }
  return out;
}
