import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import fc from 'fast-check';
import { TestCloud, type ApiResult } from '../helpers/cloud.js';
import { TokenSigner, type TokenClaims } from '../../src/core/identity/tokens.js';

/**
 * Bad input over HTTP: every answer is a 4xx with Keystone's
 * {"error": {"code", "title", "message"}} and a request id, never a 500,
 * and a refused request leaves nothing behind. Ends with a property-based
 * fuzz of the identity routes.
 */

type Row = Record<string, unknown>;

let c: TestCloud;
let admin = '';
let demo = '';
let key: Buffer;

before(async () => {
  c = await TestCloud.start();
  admin = await c.token('admin');
  demo = await c.token('demo');
  key = readFileSync(join(c.dataDir, 'token.key'));
});
after(async () => {
  await c?.stop();
});

function expectError(r: ApiResult, status: number, message?: RegExp): void {
  assert.equal(r.status, status, `${status} wanted, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('x-openstack-request-id') ?? '', /^req-[0-9a-f-]{36}$/);
  const e = (r.body as { error?: { code?: unknown; title?: unknown; message?: unknown } }).error;
  assert.ok(e, `no Keystone error body: ${r.text}`);
  assert.equal(e.code, status);
  assert.equal(typeof e.title, 'string');
  assert.equal(typeof e.message, 'string');
  if (message) assert.match(String(e.message), message);
}

const json = { 'content-type': 'application/json' };
const passwordAuth = (name: string, password: string, extra: Row = {}) => ({
  auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } }, ...extra },
});

async function claimsOf(token: string): Promise<TokenClaims> {
  const claims = await new TokenSigner(key).verify(token);
  assert.ok(claims);
  return claims;
}

describe('malformed and invalid bodies are 400', () => {
  test('malformed JSON', async () => {
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: '{"auth":', headers: json }), 400, /Malformed request body/);
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: '{project: 1}', headers: json }), 400, /Malformed/);
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: '', headers: json }), 400);
  });

  test('a body that is not an object, or a too-deep one', async () => {
    for (const body of ['[1,2]', 'null', '"x"', '42']) {
      expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body, headers: json }), 400);
    }
    const deep = `{"project":{"name":"deep","x":${'['.repeat(20000)}${']'.repeat(20000)}}}`;
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: deep, headers: json }), 400, /deeper/);
    const deepObj = `{"project":{"name":"deep","x":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`;
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: deepObj, headers: json }), 400, /deeper/);
    const r = await c.api<{ projects: Row[] }>('GET', '/identity/v3/projects?name=deep', { token: admin });
    assert.deepEqual(r.body.projects, [], 'nothing was made');
  });

  test('missing and wrong-typed fields name the field', async () => {
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: {} }), 400, /project/);
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: { project: {} } }), 400, /name/);
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 5 } } }), 400, /project\.name/);
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'x', enabled: 'yes' } } }), 400, /project\.enabled/);
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: { project: { name: '' } } }), 400);
    expectError(await c.api('POST', '/identity/v3/users', { token: admin, body: { user: { name: ['a'] } } }), 400, /user\.name/);
    expectError(await c.api('POST', '/identity/v3/endpoints', { token: admin, body: { endpoint: { service_id: 'x', interface: 'sideways', url: 'http://x' } } }), 400, /interface/);
    expectError(await c.api('POST', '/identity/v3/endpoints', { token: admin, body: { endpoint: { service_id: 'x', interface: 'public', url: 'not a url' } } }), 400, /url/);
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: 'password' } } } }), 400, /methods/);
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: {} } }), 400, /identity/);
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: [] } } } }), 400);
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'] } } } }), 400, /password/);
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', 'x', { scope: { project: 'admin' } }) }), 400, /scope/);
    expectError(
      await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: 'x' } } } } } }),
      400,
      /domain/,
    );
  });

  test('bad query values are 400', async () => {
    expectError(await c.api('GET', '/identity/v3/projects?enabled=maybe', { token: admin }), 400, /boolean/);
    expectError(await c.api('GET', '/identity/v3/role_assignments?effective=perhaps', { token: admin }), 400, /boolean/);
  });

  test('a malformed URL and an over-long path segment get a Keystone 400 with a request id', async () => {
    expectError(await c.api('GET', '/identity/v3/projects/%ZZ', { token: admin }), 400, /URL/);
    expectError(await c.api('GET', `/identity/v3/projects/${'a'.repeat(600)}`, { token: admin }), 400);
    expectError(await c.api('GET', `/identity/v3/projects/${'a'.repeat(300)}`, { token: admin }), 400);
  });

  test('a body over the size limit is 413', async () => {
    const big = JSON.stringify({ project: { name: 'big', description: 'a'.repeat(2 * 1024 * 1024) } });
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: big, headers: json }), 413);
  });
});

describe('authentication failures', () => {
  test('an unknown auth method is 401 and names the supported ones', async () => {
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['totp'], totp: {} } } } }), 401, /password/);
  });

  test('a wrong password and an unknown user are the same 401', async () => {
    const a = await c.api('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', 'not-the-password') });
    const b = await c.api('POST', '/identity/v3/auth/tokens', { body: passwordAuth('nobody-at-all', 'not-the-password') });
    expectError(a, 401);
    expectError(b, 401);
    assert.equal((a.body as Row)['error'] && JSON.stringify((a.body as { error: Row }).error['message']), JSON.stringify((b.body as { error: Row }).error['message']));
    assert.equal(a.headers.get('x-subject-token'), null);
  });

  test('no token, a garbage token and a token for a missing project scope are 401', async () => {
    expectError(await c.api('GET', '/identity/v3/projects'), 401);
    expectError(await c.api('GET', '/identity/v3/projects', { token: 'garbage' }), 401);
    expectError(await c.api('GET', '/identity/v3/projects', { token: 'a.b.c' }), 401);
    expectError(await c.api('GET', '/identity/v3/projects', { token: 'x'.repeat(10000) }), 401);
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', c.secrets.adminPassword, { scope: { project: { name: 'nope', domain: { id: 'default' } } } }) }), 401);
  });

  test('an expired token is 401 (and 404 as X-Subject-Token)', async () => {
    const claims = await claimsOf(admin);
    const now = Date.now();
    const expired = await new TokenSigner(key).sign({ ...claims, t: now - 7200_000, x: now - 3600_000 });
    expectError(await c.api('GET', '/identity/v3/projects', { token: expired }), 401, /invalid or expired/);
    expectError(await c.api('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': expired } }), 404);
    // The JWS exp says valid, the token's own expiry says not: still refused.
    const lying = await new SignJWT({ ...claims, x: now - 1000 }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.ceil(now / 1000) + 3600).sign(key);
    expectError(await c.api('GET', '/identity/v3/projects', { token: lying }), 401);
    expectError(await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: expired } } } } }), 401);
  });

  test('a token signed with another key, a tampered payload, alg none: 401', async () => {
    const claims = await claimsOf(demo);
    const other = await new TokenSigner(TokenSigner.generateKey()).sign(claims);
    expectError(await c.api('GET', '/identity/v3/auth/projects', { token: other }), 401);

    // Same signature, payload edited to claim the admin project.
    const adminClaims = await claimsOf(admin);
    const [h, , s] = demo.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: adminClaims.sub, p: adminClaims.p, exp: Math.ceil(claims.x / 1000) })).toString('base64url');
    expectError(await c.api('GET', '/identity/v3/users', { token: `${h}.${forged}.${s}` }), 401);

    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expectError(await c.api('GET', '/identity/v3/users', { token: `${none}.${forged}.` }), 401);
    // The real demo token still works.
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: demo })).status, 200);
  });

  test('a revoked token is 401 as X-Auth-Token and 404 as X-Subject-Token', async () => {
    const t = await c.token('demo');
    assert.equal((await c.api('DELETE', '/identity/v3/auth/tokens', { token: t, headers: { 'x-subject-token': t } })).status, 204);
    expectError(await c.api('GET', '/identity/v3/auth/projects', { token: t }), 401);
    expectError(await c.api('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } }), 404);
    expectError(await c.api('DELETE', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } }), 404);
    expectError(await c.api('GET', '/identity/v3/auth/tokens', { token: admin }), 401, /X-Subject-Token/);
  });
});

describe('unknown ids are 404; duplicates are 409; nothing half-made', () => {
  test('every kind of thing answers 404 for an id that does not exist', async () => {
    const missing = '0123456789abcdef0123456789abcdef';
    for (const kind of ['domains', 'projects', 'users', 'groups', 'roles', 'regions', 'services', 'endpoints']) {
      expectError(await c.api('GET', `/identity/v3/${kind}/${missing}`, { token: admin }), 404, /Could not find/);
      expectError(await c.api('DELETE', `/identity/v3/${kind}/${missing}`, { token: admin }), 404);
      expectError(await c.api('PATCH', `/identity/v3/${kind}/${missing}`, { token: admin, body: { [kind.slice(0, -1)]: {} } }), 404);
    }
    const me = (await claimsOf(admin)).sub;
    expectError(await c.api('GET', `/identity/v3/users/${me}/application_credentials/${missing}`, { token: admin }), 404);
    expectError(await c.api('PUT', `/identity/v3/projects/${missing}/users/${me}/roles/${missing}`, { token: admin }), 404);
    expectError(await c.api('GET', '/identity/v3/no-such-collection', { token: admin }), 404);
    expectError(await c.api('GET', '/identity/v4/projects', { token: admin }), 404);
  });

  test('an HTTP method a route does not have is a 4xx in Keystone form', async () => {
    const r = await c.api('PUT', '/identity/v3/projects', { token: admin, body: { project: { name: 'x' } } });
    assert.ok(r.status === 404 || r.status === 405, r.text);
    expectError(r, r.status);
  });

  test('duplicate names within one domain are 409; the same name in another domain is fine', async () => {
    const creates: [string, (n: string, d?: string) => Row][] = [
      ['projects', (n, d) => ({ project: { name: n, ...(d ? { domain_id: d } : {}) } })],
      ['users', (n, d) => ({ user: { name: n, ...(d ? { domain_id: d } : {}) } })],
      ['groups', (n, d) => ({ group: { name: n, ...(d ? { domain_id: d } : {}) } })],
    ];
    const dom = await c.api<{ domain: Row }>('POST', '/identity/v3/domains', { token: admin, body: { domain: { name: 'other-dom' } } });
    assert.equal(dom.status, 201);
    const otherId = String(dom.body.domain['id']);
    for (const [kind, body] of creates) {
      assert.equal((await c.api('POST', `/identity/v3/${kind}`, { token: admin, body: body('twin') })).status, 201);
      expectError(await c.api('POST', `/identity/v3/${kind}`, { token: admin, body: body('twin') }), 409, /already exists/);
      assert.equal((await c.api('POST', `/identity/v3/${kind}`, { token: admin, body: body('twin', otherId) })).status, 201);
      const list = await c.api<Record<string, Row[]>>('GET', `/identity/v3/${kind}?name=twin`, { token: admin });
      assert.equal(list.body[kind]?.length, 2, `${kind}: one per domain`);
    }
    expectError(await c.api('POST', '/identity/v3/domains', { token: admin, body: { domain: { name: 'other-dom' } } }), 409);
    expectError(await c.api('POST', '/identity/v3/roles', { token: admin, body: { role: { name: 'member' } } }), 409);
    expectError(await c.api('POST', '/identity/v3/regions', { token: admin, body: { region: { id: 'RegionOne' } } }), 409);
    // A rename onto a taken name is a 409 too, and changes nothing.
    const p = await c.api<{ project: Row }>('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'single' } } });
    expectError(await c.api('PATCH', `/identity/v3/projects/${String(p.body.project['id'])}`, { token: admin, body: { project: { name: 'twin' } } }), 409);
    const again = await c.api<{ project: Row }>('GET', `/identity/v3/projects/${String(p.body.project['id'])}`, { token: admin });
    assert.equal(again.body.project['name'], 'single');
  });

  test('a create that fails on a reference leaves nothing behind', async () => {
    expectError(await c.api('POST', '/identity/v3/users', { token: admin, body: { user: { name: 'orphan', password: 'pw-orphan', default_project_id: 'nope' } } }), 404);
    expectError(await c.api('POST', '/identity/v3/users', { token: admin, body: { user: { name: 'orphan', domain_id: 'nope' } } }), 404);
    expectError(await c.api('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'orphan', parent_id: 'nope' } } }), 404);
    expectError(await c.api('POST', '/identity/v3/endpoints', { token: admin, body: { endpoint: { service_id: 'nope', interface: 'public', url: 'http://x/' } } }), 400);
    const users = await c.api<{ users: Row[] }>('GET', '/identity/v3/users?name=orphan', { token: admin });
    assert.deepEqual(users.body.users, []);
    const projects = await c.api<{ projects: Row[] }>('GET', '/identity/v3/projects?name=orphan', { token: admin });
    assert.deepEqual(projects.body.projects, []);
  });

  test('responses that succeed carry a request id too', async () => {
    for (const r of [
      await c.api('GET', '/healthz'),
      await c.api('GET', '/identity'),
      await c.api('GET', '/identity/v3'),
      await c.api('GET', '/identity/v3/projects', { token: admin }),
      await c.api('GET', '/no/such/path'),
    ]) {
      assert.match(r.headers.get('x-openstack-request-id') ?? '', /^req-/, `${r.status} ${r.text}`);
    }
  });
});

// --- property-based fuzz ----------------------------------------------------

const ROUTES: [string[], string][] = [
  [['GET'], '/identity'],
  [['GET'], '/identity/v3'],
  [['GET', 'POST', 'HEAD', 'DELETE'], '/identity/v3/auth/tokens'],
  [['GET'], '/identity/v3/auth/catalog'],
  [['GET'], '/identity/v3/auth/projects'],
  [['GET'], '/identity/v3/auth/domains'],
  [['GET'], '/identity/v3/auth/system'],
  [['GET', 'POST'], '/identity/v3/domains'],
  [['GET', 'PATCH', 'DELETE'], '/identity/v3/domains/:domain'],
  [['GET', 'POST'], '/identity/v3/projects'],
  [['GET', 'PATCH', 'DELETE'], '/identity/v3/projects/:project'],
  [['GET'], '/identity/v3/projects/:project/tags'],
  [['GET', 'POST'], '/identity/v3/users'],
  [['GET', 'PATCH', 'DELETE'], '/identity/v3/users/:user'],
  [['POST'], '/identity/v3/users/:user/password'],
  [['GET'], '/identity/v3/users/:user/projects'],
  [['GET'], '/identity/v3/users/:user/groups'],
  [['GET', 'POST'], '/identity/v3/users/:user/application_credentials'],
  [['GET', 'DELETE'], '/identity/v3/users/:user/application_credentials/:appcred'],
  [['GET', 'POST'], '/identity/v3/groups'],
  [['GET', 'PATCH', 'DELETE'], '/identity/v3/groups/:group'],
  [['GET'], '/identity/v3/groups/:group/users'],
  [['PUT', 'GET', 'HEAD', 'DELETE'], '/identity/v3/groups/:group/users/:user'],
  [['GET', 'POST'], '/identity/v3/roles'],
  [['GET', 'PATCH', 'DELETE'], '/identity/v3/roles/:role'],
  [['GET'], '/identity/v3/role_inferences'],
  [['PUT', 'DELETE'], '/identity/v3/roles/:role/implies/:role'],
  [['GET'], '/identity/v3/projects/:project/users/:user/roles'],
  [['PUT', 'GET', 'HEAD', 'DELETE'], '/identity/v3/projects/:project/users/:user/roles/:role'],
  [['PUT', 'GET', 'DELETE'], '/identity/v3/projects/:project/groups/:group/roles/:role'],
  [['GET'], '/identity/v3/domains/:domain/users/:user/roles'],
  [['PUT', 'GET', 'DELETE'], '/identity/v3/domains/:domain/groups/:group/roles/:role'],
  [['PUT', 'GET', 'DELETE'], '/identity/v3/OS-INHERIT/domains/:domain/users/:user/roles/:role/inherited_to_projects'],
  [['GET'], '/identity/v3/OS-INHERIT/projects/:project/groups/:group/roles/inherited_to_projects'],
  [['GET'], '/identity/v3/role_assignments'],
  [['GET', 'POST'], '/identity/v3/regions'],
  [['GET', 'PUT', 'PATCH', 'DELETE'], '/identity/v3/regions/:region'],
  [['GET', 'POST'], '/identity/v3/services'],
  [['GET', 'PATCH', 'DELETE'], '/identity/v3/services/:service'],
  [['GET', 'POST'], '/identity/v3/endpoints'],
  [['GET', 'PATCH', 'DELETE'], '/identity/v3/endpoints/:endpoint'],
];

const FIELDS = [
  'name', 'id', 'domain_id', 'parent_id', 'description', 'enabled', 'tags', 'options', 'is_domain', 'password', 'original_password',
  'default_project_id', 'email', 'type', 'url', 'interface', 'service_id', 'region', 'region_id', 'parent_region_id', 'secret',
  'expires_at', 'roles', 'unrestricted', 'access_rules', '__proto__', 'constructor', 'toString',
];
const QUERY_KEYS = [
  'name', 'enabled', 'domain_id', 'parent_id', 'is_domain', 'tags', 'user.id', 'group.id', 'role.id', 'scope.project.id',
  'scope.domain.id', 'effective', 'include_names', 'scope.OS-INHERIT:inherited_to', 'nocatalog', 'type', 'service_id', 'interface',
  'region_id', 'parent_region_id',
];

describe('fuzz', () => {
  test('random requests over the identity routes never get a 5xx, always a request id and a Keystone error body', async (t) => {
    // Things the fuzz may touch (admin could delete or disable them); the bootstrap ones stay out of its reach.
    const mk = async (path: string, body: unknown, key: string): Promise<string> => {
      const r = await c.api<Record<string, Row>>('POST', `/identity/v3/${path}`, { token: admin, body });
      assert.equal(r.status, 201, r.text);
      return String(r.body[key]?.['id']);
    };
    const domain = await mk('domains', { domain: { name: 'fz-dom' } }, 'domain');
    const project = await mk('projects', { project: { name: 'fz-proj' } }, 'project');
    const user = await mk('users', { user: { name: 'fz-user', password: 'fz-pw-1', default_project_id: project } }, 'user');
    const group = await mk('groups', { group: { name: 'fz-group' } }, 'group');
    const role = await mk('roles', { role: { name: 'fz-role' } }, 'role');
    const region = await mk('regions', { region: { id: 'fz-region' } }, 'region');
    const service = await mk('services', { service: { type: 'fz' } }, 'service');
    const endpoint = await mk('endpoints', { endpoint: { service_id: service, interface: 'public', url: 'http://127.0.0.1:9/' } }, 'endpoint');
    const member = (await c.api<{ roles: Row[] }>('GET', '/identity/v3/roles?name=member', { token: admin })).body.roles[0]?.['id'];
    assert.equal((await c.api('PUT', `/identity/v3/projects/${project}/users/${user}/roles/${String(member)}`, { token: admin })).status, 204);
    const fzToken = await c.token({ user: 'fz-user', password: 'fz-pw-1', project: 'fz-proj' });
    const appcred = await (async () => {
      const r = await c.api<{ application_credential: Row }>('POST', `/identity/v3/users/${user}/application_credentials`, {
        token: fzToken,
        body: { application_credential: { name: 'fz-ac', secret: 'fz-secret' } },
      });
      assert.equal(r.status, 201, r.text);
      return String(r.body.application_credential['id']);
    })();
    const subjects = [fzToken, await c.token({ user: 'fz-user', password: 'fz-pw-1', project: 'fz-proj' }), 'garbage', ''];

    const real: Record<string, string> = { domain, project, user, group, role, region, service, endpoint, appcred };
    const weird = fc.oneof(
      fc.constantFrom('0123456789abcdef0123456789abcdef', 'default', '..', '.', '%00', '%2F', '%252F', ' ', 'null', '-1', 'é', '%E2%98%83', 'a'.repeat(300)),
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
    );
    const param = (kind: string) => fc.oneof({ weight: 3, arbitrary: fc.constant(real[kind] ?? 'x') }, { weight: 2, arbitrary: weird });
    const route = fc.constantFrom(...ROUTES).chain(([methods, tpl]) => {
      const kinds = [...tpl.matchAll(/:(\w+)/g)].map((m) => m[1] ?? '');
      return fc.tuple(
        fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...methods) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') }),
        fc.tuple(...kinds.map(param)).map((vals) => {
          let i = 0;
          return tpl.replace(/:(\w+)/g, () => vals[i++] ?? '');
        }),
      );
    });
    const scalar = fc.oneof(fc.string({ maxLength: 30 }), fc.boolean(), fc.integer(), fc.double(), fc.constant(null), fc.string({ unit: 'binary', maxLength: 10 }));
    const fieldValue = fc.oneof({ weight: 3, arbitrary: scalar }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(...Object.values(real)) });
    const loose = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 12 })), fieldValue, { maxKeys: 6 });
    // Half the time a plausible create: a valid name (sometimes a taken one) plus random other fields.
    const named = fc
      .tuple(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('fz-proj', 'fz-user', 'fz-group', 'fz-role', 'twin')), fc.oneof(fc.constant({}), loose))
      .map(([name, rest]) => ({ ...rest, name }));
    const resource = fc.oneof(loose, named);
    const authBody = fc.record(
      {
        identity: fc.record(
          {
            methods: fc.array(fc.oneof(fc.constantFrom('password', 'token', 'application_credential'), fc.string({ maxLength: 8 })), { maxLength: 3 }),
            password: fc.record({ user: fc.record({ id: fc.constant(user), name: fc.constantFrom('fz-user', 'admin', 'x'), domain: fc.oneof(fc.constant({ id: 'default' }), resource), password: fc.oneof(fc.constant('fz-pw-1'), scalar) }, { requiredKeys: [] }) }),
            token: fc.record({ id: fc.oneof(fc.constantFrom(...subjects), scalar) }),
            application_credential: fc.record({ id: fc.constant(appcred), name: fc.constant('fz-ac'), secret: fc.oneof(fc.constant('fz-secret'), scalar), user: fc.oneof(fc.constant({ id: user }), resource) }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
        scope: fc.oneof(fc.constant('unscoped'), fc.record({ project: fc.oneof(fc.constant({ id: project }), resource), domain: fc.oneof(fc.constant({ id: domain }), resource), system: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }), scalar),
      },
      { requiredKeys: [] },
    );
    const KEY_OF: Record<string, string> = {
      projects: 'project', users: 'user', groups: 'group', roles: 'role', domains: 'domain', regions: 'region', services: 'service',
      endpoints: 'endpoint', application_credentials: 'application_credential', password: 'user', tokens: 'auth',
    };
    const keyFor = (path: string): string | undefined => {
      const segs = path.split('/').filter((x) => x in KEY_OF);
      return KEY_OF[segs[segs.length - 1] ?? ''];
    };
    const bodyFor = (path: string): fc.Arbitrary<unknown> => {
      const k = keyFor(path);
      if (k === undefined || k === 'auth') return body;
      return fc.oneof({ weight: 2, arbitrary: resource.map((v) => ({ [k]: v }) as unknown) }, { weight: 1, arbitrary: body });
    };
    const body: fc.Arbitrary<unknown> = fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom('project', 'user', 'group', 'role', 'domain', 'region', 'service', 'endpoint', 'application_credential'), resource).map(([k, v]) => ({ [k]: v }) as unknown) },
      { weight: 2, arbitrary: authBody.map((a) => ({ auth: a }) as unknown) },
      { weight: 1, arbitrary: fc.record({ user: fc.record({ password: scalar, original_password: fc.oneof(fc.constant('fz-pw-1'), scalar) }, { requiredKeys: [] }) }) as fc.Arbitrary<unknown> },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }) as fc.Arbitrary<unknown> },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => ({ raw: s })) },
    );
    const query = fc.dictionary(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })), fc.oneof(fc.constantFrom('true', 'false', '1', '', 'x', 'null'), fc.string({ maxLength: 12 }), fc.constantFrom(...Object.values(real))), { maxKeys: 4 });
    const token = fc.constantFrom<string | undefined>(admin, admin, demo, fzToken, undefined, 'garbage');
    const subject = fc.option(fc.constantFrom(...subjects), { nil: undefined });

    const statuses = new Map<number, number>();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(route.chain((r) => fc.tuple(fc.constant(r), bodyFor(r[1]))), query, token, subject, async ([[method, path], b], q, tok, subj) => {
        runs++;
        const qs = new URLSearchParams(q).toString();
        const headers: Record<string, string> = {};
        if (subj !== undefined) headers['x-subject-token'] = subj;
        let sent: unknown = b;
        if (b !== undefined && typeof b === 'object' && b !== null && 'raw' in b && Object.keys(b).length === 1) {
          sent = String((b as { raw: string }).raw);
          headers['content-type'] = 'application/json';
        }
        if (method === 'GET' || method === 'HEAD') sent = undefined;
        const r = await c.api(method, `${path}${qs ? `?${qs}` : ''}`, { ...(tok !== undefined ? { token: tok } : {}), body: sent, headers });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        const what = `${method} ${path}?${qs} ${JSON.stringify(sent)?.slice(0, 300)} -> ${r.status} ${r.text.slice(0, 300)}`;
        assert.ok(r.status < 500, what);
        assert.match(r.headers.get('x-openstack-request-id') ?? '', /^req-/, what);
        if (r.status >= 400 && method !== 'HEAD') {
          const e = (r.body as { error?: { code?: unknown; title?: unknown; message?: unknown } } | undefined)?.error;
          assert.ok(e && e.code === r.status && typeof e.title === 'string' && typeof e.message === 'string', what);
        }
      }),
      { numRuns: 2000, plugins: [fc.interruptAfterTimeLimit(90_000)], endOnFailure: true },
    );
    t.diagnostic(`${runs} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses.entries()].sort((a, b) => a[0] - b[0])))}`);
    assert.ok(runs >= 300, `only ${runs} runs in the time allowed`);
    const ok2xx = [...statuses.entries()].filter(([s]) => s < 300).reduce((n, [, k]) => n + k, 0);
    assert.ok(ok2xx >= runs / 20, 'the fuzz should get past validation and policy often enough to reach handlers');

    // The cloud still works after all that, and the fuzz never lost its admin reach.
    assert.equal((await c.api('GET', '/healthz')).status, 200);
    assert.equal((await c.api('GET', '/identity/v3/users', { token: admin })).status, 200);
    assert.ok(await c.token('admin'));
    assert.ok(await c.token('demo'));
  });
});
