import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Down and up again on the same data dir: every user, project, group,
 * role assignment and application credential is still there, tokens issued
 * before still work, revoked ones stay revoked, and nothing is made twice.
 */

type Row = Record<string, unknown>;

let c: TestCloud;

before(async () => {
  c = await TestCloud.start();
});
after(async () => {
  await c?.stop();
});

test('stacklet down then up keeps identity data and tokens; revoked tokens stay revoked', async () => {
  const secretsBefore = c.secrets;
  await c.os(['project', 'create', '--description', 'survives', 'keep-proj']);
  await c.os(['user', 'create', '--password', 'keep-pw-1', '--project', 'keep-proj', 'keeper']);
  await c.os(['role', 'add', '--user', 'keeper', '--project', 'keep-proj', 'member']);
  await c.os(['group', 'create', 'keep-group']);
  await c.os(['group', 'add', 'user', 'keep-group', 'keeper']);
  await c.os(['role', 'add', '--group', 'keep-group', '--project', 'demo', 'reader']);

  const admin = await c.token('admin');
  const demo = await c.token('demo');
  const keeper = await c.token({ user: 'keeper', password: 'keep-pw-1', project: 'keep-proj' });
  const keeperInDemo = await c.token({ user: 'keeper', password: 'keep-pw-1', project: 'demo' });
  const revoked = await c.token('demo');
  assert.equal((await c.api('DELETE', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': revoked } })).status, 204);
  assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: revoked })).status, 401);

  const me = await c.api<{ token: { user: { id: string } } }>('GET', '/identity/v3/auth/tokens', { token: keeper, headers: { 'x-subject-token': keeper } });
  const keeperId = me.body.token.user.id;
  const ac = await c.api<{ application_credential: Row }>('POST', `/identity/v3/users/${keeperId}/application_credentials`, {
    token: keeper,
    body: { application_credential: { name: 'keep-ac', secret: 'keep-ac-secret' } },
  });
  assert.equal(ac.status, 201, ac.text);
  const acId = String(ac.body.application_credential['id']);
  const acAuth = { auth: { identity: { methods: ['application_credential'], application_credential: { id: acId, secret: 'keep-ac-secret' } } } };
  const acTokenRes = await c.api('POST', '/identity/v3/auth/tokens', { body: acAuth });
  assert.equal(acTokenRes.status, 201);
  const acToken = String(acTokenRes.headers.get('x-subject-token'));

  const list = async (path: string, key: string): Promise<Row[]> => {
    const r = await c.api<Record<string, Row[]>>('GET', `/identity/v3/${path}`, { token: await c.token('admin') });
    assert.equal(r.status, 200, r.text);
    return r.body[key] ?? [];
  };
  const snapshot = async () => ({
    projects: await list('projects', 'projects'),
    users: await list('users', 'users'),
    groups: await list('groups', 'groups'),
    roles: await list('roles', 'roles'),
    inferences: await list('role_inferences', 'role_inferences'),
    assignments: await c.osJson<Row[]>(['role', 'assignment', 'list', '--names']),
    services: await list('services', 'services'),
    endpoints: await list('endpoints', 'endpoints'),
    regions: await list('regions', 'regions'),
    domains: await list('domains', 'domains'),
    members: await list(`groups/${String((await list('groups?name=keep-group', 'groups'))[0]?.['id'])}/users`, 'users'),
    appCreds: await list(`users/${keeperId}/application_credentials`, 'application_credentials'),
  });
  const sortRows = (rows: Row[]) => [...rows].map((r) => JSON.stringify(r)).sort();
  const before1 = await snapshot();
  assert.ok(before1.assignments.length >= 4);
  assert.deepEqual(before1.members.map((u) => u['name']), ['keeper']);
  assert.deepEqual(before1.appCreds.map((a) => a['name']), ['keep-ac']);
  assert.ok(before1.endpoints.length >= 3, 'three interfaces per served service');

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    await c.down(how);
    assert.equal((await fetch(`${c.baseUrl}/healthz`).catch(() => undefined))?.status, undefined, 'it is down');
    await c.up();

    const now = await snapshot();
    for (const k of Object.keys(before1) as (keyof typeof before1)[]) {
      assert.deepEqual(sortRows(now[k]), sortRows(before1[k]), `${k} after ${how}`);
    }
    assert.deepEqual(c.secrets, secretsBefore, 'the bootstrap passwords did not change');

    // Tokens issued before the restart still work, with the same roles.
    for (const [name, t] of [['admin', admin], ['demo', demo], ['keeper', keeper], ['keeper in demo (by group)', keeperInDemo], ['app credential', acToken]] as const) {
      const r = await c.api('GET', '/identity/v3/auth/projects', { token: t });
      assert.equal(r.status, 200, `${name} token after ${how}: ${r.text}`);
    }
    assert.equal((await c.api('GET', '/identity/v3/users', { token: admin })).status, 200, 'admin is still admin');
    assert.equal((await c.api('GET', '/identity/v3/users', { token: demo })).status, 403, 'demo is still not');
    const viaGroup = await c.api<{ token: { roles: Row[] } }>('GET', '/identity/v3/auth/tokens', { token: keeperInDemo, headers: { 'x-subject-token': keeperInDemo } });
    assert.deepEqual(viaGroup.body.token.roles.map((r) => r['name']), ['reader']);

    // The revoked one stays revoked.
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: revoked })).status, 401, `revoked token after ${how}`);
    assert.equal((await c.api('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': revoked } })).status, 404);

    // Passwords and the app credential still authenticate; the CLI works with the same clouds.yaml.
    assert.ok(await c.token({ user: 'keeper', password: 'keep-pw-1', project: 'keep-proj' }));
    assert.equal((await c.api('POST', '/identity/v3/auth/tokens', { body: acAuth })).status, 201);
    await c.os(['token', 'issue'], { cloud: 'stacklet' });
  }
});
