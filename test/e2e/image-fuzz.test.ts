import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Property-based fuzz of the image routes: random methods, paths, query
 * strings, headers and bodies (JSON, JSON patches, bytes) from the demo
 * user, the admin, no one and a forged token. Whatever is sent, the answer
 * is never a 5xx, and every error is in Glance's format.
 */

let c: TestCloud;
let demo = '';
let admin = '';
const ids: string[] = [];

before(async () => {
  c = await TestCloud.start();
  demo = await c.token('demo');
  admin = await c.token('admin');
  for (const [token, body] of [
    [demo, { name: 'fz-queued', disk_format: 'raw', container_format: 'bare', visibility: 'shared' }],
    [demo, { name: 'fz-active', disk_format: 'raw', container_format: 'bare' }],
    [admin, { name: 'fz-admin', visibility: 'private' }],
  ] as const) {
    const r = await c.api<{ id: string }>('POST', '/image/v2/images', { token, body });
    ids.push(r.body.id);
  }
  await c.api('PUT', `/image/v2/images/${ids[1] ?? ''}/file`, { token: demo, body: Buffer.alloc(4096, 3), headers: { 'content-type': 'application/octet-stream' } });
});
after(async () => {
  await c?.stop();
});

const weird = fc.oneof(
  fc.constantFrom('00000000-0000-0000-0000-000000000000', '..', '.', '%00', '%2F', '%252F', ' ', 'null', '-1', 'é', '%E2%98%83', 'a'.repeat(300), 'in:a,b'),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
  fc.uuid(),
);
const idArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Array.from({ length: 3 }, (_, i) => i)).map((i) => ids[i] ?? 'x') }, { weight: 1, arbitrary: weird });
const projectArb = fc.oneof(fc.constantFrom('demo', 'admin'), weird);

const path = fc.oneof(
  fc.constant('/image'),
  fc.constant('/image/versions'),
  fc.constant('/image/v2/images'),
  idArb.map((id) => `/image/v2/images/${id}`),
  idArb.map((id) => `/image/v2/images/${id}/file`),
  fc.tuple(idArb, fc.constantFrom('deactivate', 'reactivate', 'x')).map(([id, a]) => `/image/v2/images/${id}/actions/${a}`),
  fc.tuple(idArb, fc.oneof(fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent), weird)).map(([id, t]) => `/image/v2/images/${id}/tags/${t}`),
  idArb.map((id) => `/image/v2/images/${id}/members`),
  fc.tuple(idArb, projectArb).map(([id, m]) => `/image/v2/images/${id}/members/${m}`),
  fc.constantFrom('image', 'images', 'member', 'members', 'nope').map((s) => `/image/v2/schemas/${s}`),
  weird.map((w) => `/image/v2/${w}`),
);

const queryKey = fc.oneof(
  fc.constantFrom('limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'name', 'status', 'visibility', 'owner', 'member_status', 'tag', 'disk_format', 'container_format', 'size_min', 'size_max', 'os_hidden', 'protected', 'id', 'created_at', 'updated_at', 'changes-since', 'hw_disk_bus'),
  fc.string({ maxLength: 10 }),
);
const queryValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String), fc.constantFrom('in:a,"b', 'gt:2020-01-01', 'name:asc,size:up', 'true', 'all', '-1', '', ...ids), weird);
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((kv) => (kv.length ? `?${kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}` : ''));

const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/openstack-images-v2.1-json-patch',
  'application/openstack-images-v2.0-json-patch',
  'application/octet-stream',
  'text/plain',
  'application/json; charset=utf-8',
  'multipart/form-data; boundary=x',
  '',
  'garbage/\u00e9',
);

const attr = fc.constantFrom('name', 'visibility', 'protected', 'os_hidden', 'owner', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'tags', 'status', 'id', 'size', 'self', 'locations', 'deleted', 'os_glance_x', 'custom', '__proto__', 'constructor', '');
const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('raw', 'qcow2', 'bare', 'public', 'shared', 'community', 'private'), fc.jsonValue({ maxDepth: 2 }));
const patchOp = fc.record(
  {
    op: fc.oneof(fc.constantFrom('add', 'replace', 'remove', 'move', 'test'), fc.jsonValue({ maxDepth: 1 })),
    path: fc.oneof(attr.map((a) => `/${a}`), fc.string({ maxLength: 12 }), fc.constant('/a/b'), fc.jsonValue({ maxDepth: 1 })),
    value,
  },
  { requiredKeys: [] },
);
const jsonBody = fc.oneof(
  fc.dictionary(attr, value, { maxKeys: 5 }),
  fc.array(patchOp, { maxLength: 4 }),
  fc.record({ member: fc.oneof(projectArb, value) }),
  fc.record({ status: fc.oneof(fc.constantFrom('accepted', 'rejected', 'pending'), value) }),
  fc.jsonValue({ maxDepth: 3 }),
);
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: jsonBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 3000 }) },
);

const tokenArb = fc.constantFrom('demo', 'admin', 'none', 'forged');
const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');
const range = fc.oneof(fc.constant(undefined), fc.constantFrom('bytes=0-10', 'bytes=-5', 'bytes=100000-', 'bytes=5-1', 'bytes=0-1,3-4', 'items=1-2'), fc.string({ maxLength: 15 }));

test('no request to the image API gets a 5xx', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(method, path, query, contentType, body, tokenArb, range, async (m, p, q, ct, b, who, rg) => {
      const headers: Record<string, string> = {};
      if (who === 'demo') headers['x-auth-token'] = demo;
      if (who === 'admin') headers['x-auth-token'] = admin;
      if (who === 'forged') headers['x-auth-token'] = 'eyJhbGciOiJIUzI1NiJ9.e30.forged';
      if (ct !== undefined) headers['content-type'] = ct;
      if (rg !== undefined) headers['range'] = rg;
      const sendsBody = b !== undefined && m !== 'GET' && m !== 'HEAD';
      const res = await fetch(`${c.baseUrl}${p}${q}`, { method: m, headers, body: sendsBody ? b : undefined });
      const text = m === 'HEAD' ? '' : Buffer.from(await res.arrayBuffer()).toString('utf8');
      assert.ok(res.status < 500, `${m} ${p}${q} (${ct ?? 'no type'}) → ${res.status}: ${text.slice(0, 300)}`);
      if (res.status >= 400 && m !== 'HEAD') {
        const e = JSON.parse(text) as { message?: unknown; code?: unknown };
        assert.equal(typeof e.message, 'string', text);
        assert.match(String(e.code), /^4\d\d /, text);
      }
    }),
    { numRuns: Number(process.env['FUZZ_RUNS'] ?? 400), interruptAfterTimeLimit: 500_000 },
  );
  assert.equal((await c.api('GET', '/healthz')).status, 200);
  assert.equal((await c.api('GET', '/image/v2/images', { token: demo })).status, 200);
});
