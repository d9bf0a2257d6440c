import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Who may do what in Keystone: admin everything; a member or reader of
 * project A sees its own project and user, gets 404 for project B's things
 * and 403 for anything that changes identity data or lists other people's.
 */

type Row = Record<string, unknown>;
type Err = { error: { code: number; title: string; message: string } };

let c: TestCloud;
let admin = '';
let member = ''; // member on project A
let reader = ''; // reader (only) on project A
const ids = { a: '', b: '', memberUser: '', readerUser: '', bUser: '', adminUser: '' };

async function create(path: string, body: unknown): Promise<Row> {
  const r = await c.api<Row>('POST', `/identity/v3/${path}`, { token: admin, body });
  assert.equal(r.status, 201, `${path}: ${r.text}`);
  return r.body;
}

before(async () => {
  c = await TestCloud.start();
  admin = await c.token('admin');
  ids.a = String(((await create('projects', { project: { name: 'proj-a' } }))['project'] as Row)['id']);
  ids.b = String(((await create('projects', { project: { name: 'proj-b' } }))['project'] as Row)['id']);
  const roles = (await c.api<{ roles: Row[] }>('GET', '/identity/v3/roles', { token: admin })).body.roles;
  const role = (n: string) => String(roles.find((r) => r['name'] === n)?.['id']);
  const user = async (name: string, project: string, roleName: string) => {
    const u = (await create('users', { user: { name, password: `${name}-pw-1`, default_project_id: project } }))['user'] as Row;
    const r = await c.api('PUT', `/identity/v3/projects/${project}/users/${String(u['id'])}/roles/${role(roleName)}`, { token: admin });
    assert.equal(r.status, 204, r.text);
    return String(u['id']);
  };
  ids.memberUser = await user('mia', ids.a, 'member');
  ids.readerUser = await user('rex', ids.a, 'reader');
  ids.bUser = await user('bea', ids.b, 'member');
  member = await c.token({ user: 'mia', password: 'mia-pw-1', project: 'proj-a' });
  reader = await c.token({ user: 'rex', password: 'rex-pw-1', project: 'proj-a' });
  const me = await c.api<{ token: { user: { id: string } } }>('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': admin } });
  ids.adminUser = me.body.token.user.id;
});
after(async () => {
  await c?.stop();
});

function assertKeystoneError(r: { status: number; body: unknown; text: string }, status: number): void {
  assert.equal(r.status, status, r.text);
  const e = (r.body as Err).error;
  assert.equal(e.code, status);
  assert.equal(typeof e.title, 'string');
  assert.ok(e.message.length > 0);
}

describe('another project is invisible (404)', () => {
  test('project show of B gives 404 to a member and a reader of A, 200 to admin', async () => {
    for (const t of [member, reader]) {
      assertKeystoneError(await c.api('GET', `/identity/v3/projects/${ids.b}`, { token: t }), 404);
      assertKeystoneError(await c.api('GET', `/identity/v3/projects/${ids.b}/tags`, { token: t }), 404);
    }
    assert.equal((await c.api('GET', `/identity/v3/projects/${ids.b}`, { token: admin })).status, 200);
    assert.equal((await c.api('GET', `/identity/v3/projects/${ids.a}`, { token: member })).status, 200);
  });

  test('a member lists only its own project; project show of B through the CLI fails', async () => {
    const r = await c.api<{ projects: Row[] }>('GET', '/identity/v3/projects', { token: member });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.projects.map((p) => p['name']), ['proj-a']);
    const mine = await c.api<{ projects: Row[] }>('GET', '/identity/v3/auth/projects', { token: member });
    assert.deepEqual(mine.body.projects.map((p) => p['name']), ['proj-a']);

    const env = { OS_CLOUD: '', OS_AUTH_URL: `${c.baseUrl}/identity`, OS_USERNAME: 'mia', OS_PASSWORD: 'mia-pw-1', OS_PROJECT_NAME: 'proj-a', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    const shown = await c.osJson(['project', 'show', 'proj-a'], { env });
    assert.equal(shown['id'], ids.a);
    const other = await c.openstack(['project', 'show', ids.b], { env });
    assert.notEqual(other.code, 0);
  });

  test('other users are 404 to a member; its own user is visible', async () => {
    assertKeystoneError(await c.api('GET', `/identity/v3/users/${ids.bUser}`, { token: member }), 404);
    assertKeystoneError(await c.api('GET', `/identity/v3/users/${ids.adminUser}`, { token: member }), 404);
    assert.equal((await c.api('GET', `/identity/v3/users/${ids.memberUser}`, { token: member })).status, 200);
  });

  test('a member cannot scope a token to project B', async () => {
    await assert.rejects(c.token({ user: 'mia', password: 'mia-pw-1', project: 'proj-b' }), /401/);
  });
});

describe('listing other people is 403', () => {
  test('role assignments: others are 403 to member and reader, own are 200', async () => {
    for (const t of [member, reader]) {
      assertKeystoneError(await c.api('GET', '/identity/v3/role_assignments', { token: t }), 403);
      assertKeystoneError(await c.api('GET', `/identity/v3/role_assignments?user.id=${ids.bUser}`, { token: t }), 403);
      assertKeystoneError(await c.api('GET', `/identity/v3/role_assignments?scope.project.id=${ids.b}`, { token: t }), 403);
    }
    const own = await c.api<{ role_assignments: Row[] }>('GET', `/identity/v3/role_assignments?user.id=${ids.memberUser}`, { token: member });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.body.role_assignments.length, 1);
    const all = await c.api<{ role_assignments: Row[] }>('GET', '/identity/v3/role_assignments', { token: admin });
    assert.ok(all.body.role_assignments.length >= 5);
  });

  test('role assignment list through the CLI is refused for a member', async () => {
    const env = { OS_CLOUD: '', OS_AUTH_URL: `${c.baseUrl}/identity`, OS_USERNAME: 'mia', OS_PASSWORD: 'mia-pw-1', OS_PROJECT_NAME: 'proj-a', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    const r = await c.openstack(['role', 'assignment', 'list'], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /403|Only admin/i);
    // Project B itself is invisible to the CLI's name lookup.
    const b = await c.openstack(['role', 'assignment', 'list', '--project', ids.b], { env });
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /No project with a name or ID/);
  });

  test('user list, group list, a grant list and another user\'s application credentials are 403', async () => {
    for (const t of [member, reader]) {
      assertKeystoneError(await c.api('GET', '/identity/v3/users', { token: t }), 403);
      assertKeystoneError(await c.api('GET', '/identity/v3/groups', { token: t }), 403);
      assertKeystoneError(await c.api('GET', `/identity/v3/projects/${ids.a}/users/${ids.memberUser}/roles`, { token: t }), 403);
      assertKeystoneError(await c.api('GET', `/identity/v3/users/${ids.bUser}/application_credentials`, { token: t }), 403);
      assertKeystoneError(await c.api('GET', `/identity/v3/users/${ids.bUser}/projects`, { token: t }), 403);
      assertKeystoneError(await c.api('GET', '/identity/v3/role_inferences', { token: t }), 403);
    }
  });

  test('a member may not inspect or revoke someone else\'s token (403, not a 401 that makes clients re-authenticate)', async () => {
    const bTok = await c.token({ user: 'bea', password: 'bea-pw-1', project: 'proj-b' });
    assertKeystoneError(await c.api('GET', '/identity/v3/auth/tokens', { token: member, headers: { 'x-subject-token': bTok } }), 403);
    assertKeystoneError(await c.api('DELETE', '/identity/v3/auth/tokens', { token: member, headers: { 'x-subject-token': bTok } }), 403);
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: bTok })).status, 200, 'the token survived');
    // Its own token it may inspect.
    assert.equal((await c.api('GET', '/identity/v3/auth/tokens', { token: member, headers: { 'x-subject-token': member } })).status, 200);
    // Admin may inspect anyone's.
    assert.equal((await c.api('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': bTok } })).status, 200);
  });
});

describe('creating and changing identity data needs admin', () => {
  const writes = (): [string, string, unknown][] => [
    ['POST', '/identity/v3/projects', { project: { name: 'nope-p' } }],
    ['POST', '/identity/v3/users', { user: { name: 'nope-u', password: 'x' } }],
    ['POST', '/identity/v3/groups', { group: { name: 'nope-g' } }],
    ['POST', '/identity/v3/roles', { role: { name: 'nope-r' } }],
    ['POST', '/identity/v3/domains', { domain: { name: 'nope-d' } }],
    ['POST', '/identity/v3/regions', { region: { id: 'nope-region' } }],
    ['POST', '/identity/v3/services', { service: { type: 'nope' } }],
    ['PATCH', `/identity/v3/projects/${ids.a}`, { project: { description: 'mine now' } }],
    ['PATCH', `/identity/v3/users/${ids.memberUser}`, { user: { enabled: true } }],
    ['DELETE', `/identity/v3/projects/${ids.b}`, undefined],
    ['DELETE', `/identity/v3/users/${ids.bUser}`, undefined],
  ];

  test('a reader gets 403 on every create/update/delete; nothing is made', async () => {
    for (const [m, p, body] of writes()) {
      assertKeystoneError(await c.api(m, p, { token: reader, body }), 403);
    }
  });

  test('a member gets 403 on project and user create (and every other identity write)', async () => {
    for (const [m, p, body] of writes()) {
      assertKeystoneError(await c.api(m, p, { token: member, body }), 403);
    }
    const env = { OS_CLOUD: '', OS_AUTH_URL: `${c.baseUrl}/identity`, OS_USERNAME: 'mia', OS_PASSWORD: 'mia-pw-1', OS_PROJECT_NAME: 'proj-a', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    const p = await c.openstack(['project', 'create', 'nope-cli'], { env });
    assert.notEqual(p.code, 0);
    assert.match(p.stderr, /403|not authorized/i);
    const u = await c.openstack(['user', 'create', '--password', 'x', 'nope-cli'], { env });
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /403|not authorized/i);
  });

  test('the refused writes left nothing behind, and admin can do them', async () => {
    const projects = (await c.api<{ projects: Row[] }>('GET', '/identity/v3/projects', { token: admin })).body.projects.map((p) => p['name']);
    assert.ok(!projects.some((n) => String(n).startsWith('nope')), String(projects));
    const users = (await c.api<{ users: Row[] }>('GET', '/identity/v3/users', { token: admin })).body.users.map((u) => u['name']);
    assert.ok(!users.some((n) => String(n).startsWith('nope')), String(users));
    const a = await c.api<{ project: Row }>('GET', `/identity/v3/projects/${ids.a}`, { token: admin });
    assert.equal(a.body.project['description'], '');

    assert.equal((await c.api('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'yes-p' } } })).status, 201);
    assert.equal((await c.api('POST', '/identity/v3/users', { token: admin, body: { user: { name: 'yes-u', password: 'x' } } })).status, 201);
    assert.equal((await c.api('POST', '/identity/v3/groups', { token: admin, body: { group: { name: 'yes-g' } } })).status, 201);
    await c.os(['project', 'create', 'yes-cli']);
  });

  test('a reader and a member may still create their own application credential on their project', async () => {
    for (const [t, uid] of [
      [reader, ids.readerUser],
      [member, ids.memberUser],
    ] as const) {
      const r = await c.api<{ application_credential: Row }>('POST', `/identity/v3/users/${uid}/application_credentials`, {
        token: t,
        body: { application_credential: { name: 'own' } },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.application_credential['project_id'], ids.a);
    }
    // But not for someone else.
    assertKeystoneError(
      await c.api('POST', `/identity/v3/users/${ids.bUser}/application_credentials`, { token: member, body: { application_credential: { name: 'theirs' } } }),
      403,
    );
  });

  test('a member cannot grant itself admin, nor delegate a role it lacks', async () => {
    const roles = (await c.api<{ roles: Row[] }>('GET', '/identity/v3/roles', { token: member })).body.roles;
    const adminRole = String(roles.find((r) => r['name'] === 'admin')?.['id']);
    assertKeystoneError(await c.api('PUT', `/identity/v3/projects/${ids.a}/users/${ids.memberUser}/roles/${adminRole}`, { token: member }), 403);
    assertKeystoneError(
      await c.api('POST', `/identity/v3/users/${ids.memberUser}/application_credentials`, {
        token: member,
        body: { application_credential: { name: 'elevated', roles: [{ name: 'admin' }] } },
      }),
      403,
    );
  });
});
