import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestCloud } from '../helpers/cloud.js';

/**
 * Keystone v3 through Debian's `openstack` CLI, as a person uses it: tokens,
 * the catalog, projects, users, roles, groups, domains, the catalog admin
 * commands, application credentials and token revocation.
 */

type Row = Record<string, unknown>;

let c: TestCloud;

before(async () => {
  c = await TestCloud.start();
});
after(async () => {
  await c?.stop();
});

const names = (rows: Row[], key = 'Name') => rows.map((r) => r[key]);

describe('tokens and the catalog', () => {
  test('openstack token issue gives a project-scoped token for admin and demo', async () => {
    const admin = await c.osJson(['token', 'issue']);
    assert.match(String(admin['id']), /^\S{40,}$/);
    assert.match(String(admin['project_id']), /^[0-9a-f]{32}$/);
    assert.ok(Date.parse(String(admin['expires'])) > Date.now() + 30 * 60_000, 'a token lives about an hour');

    const demo = await c.osJson(['token', 'issue'], { cloud: 'stacklet' });
    assert.notEqual(demo['project_id'], admin['project_id']);
    assert.notEqual(demo['user_id'], admin['user_id']);
  });

  test('openstack catalog list shows the identity service with three interfaces', async () => {
    const rows = await c.osJson<Row[]>(['catalog', 'list']);
    const keystone = rows.find((r) => r['Type'] === 'identity');
    assert.ok(keystone, `no identity service in ${JSON.stringify(rows)}`);
    assert.equal(keystone['Name'], 'keystone');
    const eps = JSON.stringify(keystone['Endpoints']);
    for (const iface of ['public', 'internal', 'admin']) assert.ok(eps.includes(iface), `${iface} missing in ${eps}`);
    assert.ok(eps.includes(`${c.baseUrl}/identity`));
    const shown = await c.osJson(['catalog', 'show', 'identity']);
    assert.equal(shown['type'], 'identity');
  });

  test('the demo user sees the catalog too', async () => {
    const rows = await c.osJson<Row[]>(['catalog', 'list'], { cloud: 'stacklet' });
    assert.ok(rows.some((r) => r['Type'] === 'identity'));
  });
});

describe('projects', () => {
  test('project create / list / show / set / delete', async () => {
    const p = await c.osJson(['project', 'create', '--domain', 'default', '--description', 'first try', 'e2e-proj']);
    assert.equal(p['name'], 'e2e-proj');
    assert.equal(p['description'], 'first try');
    assert.equal(p['enabled'], true);
    assert.equal(p['domain_id'], 'default');
    const id = String(p['id']);

    const list = await c.osJson<Row[]>(['project', 'list']);
    assert.deepEqual(
      names(list).filter((n) => ['admin', 'demo', 'e2e-proj'].includes(String(n))).sort(),
      ['admin', 'demo', 'e2e-proj'],
    );

    const shown = await c.osJson(['project', 'show', 'e2e-proj']);
    assert.equal(shown['id'], id);
    const byId = await c.osJson(['project', 'show', id]);
    assert.equal(byId['name'], 'e2e-proj');

    await c.os(['project', 'set', '--name', 'e2e-proj2', '--description', 'renamed', '--disable', id]);
    const after1 = await c.osJson(['project', 'show', id]);
    assert.equal(after1['name'], 'e2e-proj2');
    assert.equal(after1['description'], 'renamed');
    assert.equal(after1['enabled'], false);

    await c.os(['project', 'set', '--enable', '--tag', 'blue', '--tag', 'green', id]);
    const after2 = await c.osJson(['project', 'show', id]);
    assert.equal(after2['enabled'], true);
    assert.deepEqual([...(after2['tags'] as string[])].sort(), ['blue', 'green']);
    const tagged = await c.osJson<Row[]>(['project', 'list', '--tags', 'blue']);
    assert.deepEqual(names(tagged), ['e2e-proj2']);

    await c.os(['project', 'delete', id]);
    const gone = await c.openstack(['project', 'show', id]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No project with a name or ID|Could not find project/i);
  });

  test('a duplicate project name in one domain is refused', async () => {
    await c.os(['project', 'create', 'e2e-dup']);
    const r = await c.openstack(['project', 'create', 'e2e-dup']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Conflict|409|already exists/i);
    await c.os(['project', 'delete', 'e2e-dup']);
  });
});

describe('users, roles and application credentials', () => {
  const pw = 'Correct-Horse-9';
  let projectId = '';
  let userId = '';

  before(async () => {
    projectId = String((await c.osJson(['project', 'create', 'e2e-team']))['id']);
  });

  test('user create --password --project, role add, role assignment list --names', async () => {
    const u = await c.osJson(['user', 'create', '--domain', 'default', '--password', pw, '--project', 'e2e-team', '--email', 'ann@example.org', 'ann']);
    userId = String(u['id']);
    assert.equal(u['name'], 'ann');
    assert.equal(u['default_project_id'], projectId);
    assert.equal(u['email'], 'ann@example.org');
    assert.equal(u['password'], undefined, 'the password is never echoed');

    await c.os(['role', 'add', '--user', 'ann', '--project', 'e2e-team', 'member']);
    const rows = await c.osJson<Row[]>(['role', 'assignment', 'list', '--names', '--project', 'e2e-team']);
    assert.deepEqual(rows.map((r) => [r['Role'], r['User'], r['Project']]), [['member', 'ann@Default', 'e2e-team@Default']]);

    const byUser = await c.osJson<Row[]>(['role', 'assignment', 'list', '--names', '--user', 'ann']);
    assert.equal(byUser.length, 1);
    const effective = await c.osJson<Row[]>(['role', 'assignment', 'list', '--names', '--effective', '--user', 'ann']);
    assert.deepEqual(effective.map((r) => r['Role']).sort(), ['member', 'reader'], 'member implies reader');

    const users = await c.osJson<Row[]>(['user', 'list']);
    assert.ok(names(users).includes('ann'));
    const shown = await c.osJson(['user', 'show', 'ann']);
    assert.equal(shown['id'], userId);
  });

  test('the new user authenticates with its password and default project', async () => {
    const env = { OS_CLOUD: '', OS_AUTH_URL: `${c.baseUrl}/identity`, OS_USERNAME: 'ann', OS_PASSWORD: pw, OS_PROJECT_NAME: 'e2e-team', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    const t = await c.osJson(['token', 'issue'], { env });
    assert.equal(t['project_id'], projectId);
    assert.equal(t['user_id'], userId);
    const wrong = await c.openstack(['token', 'issue'], { env: { ...env, OS_PASSWORD: 'not-it' } });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /401|authenticat/i);
  });

  test('application credential create, then authenticate with it and run a command', async () => {
    const yaml = join(c.dataDir, 'ann-clouds.yaml');
    const annYaml = `clouds:
  ann:
    auth:
      auth_url: ${c.baseUrl}/identity
      username: ann
      password: ${JSON.stringify(pw)}
      project_name: e2e-team
      user_domain_name: Default
      project_domain_name: Default
    identity_api_version: 3
`;
    writeFileSync(yaml, annYaml);
    const asAnn = { cloud: 'ann', env: { OS_CLIENT_CONFIG_FILE: yaml } };
    const ac = await c.osJson(['application', 'credential', 'create', '--description', 'for CI', 'ci'], asAnn);
    const acId = String(ac['id']);
    const secret = String(ac['secret']);
    assert.match(acId, /^[0-9a-f]{32}$/);
    assert.ok(secret.length >= 20, 'a generated secret is returned once');
    assert.equal(ac['project_id'], projectId);

    const listed = await c.osJson<Row[]>(['application', 'credential', 'list'], asAnn);
    assert.deepEqual(names(listed), ['ci']);
    assert.ok(!JSON.stringify(listed).includes(secret), 'the secret is not listed');
    const shown = await c.osJson(['application', 'credential', 'show', 'ci'], asAnn);
    assert.equal(shown['id'], acId);
    assert.ok(!JSON.stringify(shown).includes(secret), 'the secret is not shown again');

    // Authenticate with the application credential through the environment.
    const acEnv = {
      OS_CLOUD: '',
      OS_CLIENT_CONFIG_FILE: '/dev/null',
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_AUTH_URL: `${c.baseUrl}/identity`,
      OS_APPLICATION_CREDENTIAL_ID: acId,
      OS_APPLICATION_CREDENTIAL_SECRET: secret,
      OS_IDENTITY_API_VERSION: '3',
    };
    const t = await c.osJson(['token', 'issue'], { env: acEnv });
    assert.equal(t['project_id'], projectId);
    assert.equal(t['user_id'], userId);
    const proj = await c.osJson(['project', 'show', projectId], { env: acEnv });
    assert.equal(proj['name'], 'e2e-team');

    // And through a clouds.yaml entry.
    writeFileSync(
      yaml,
      `${annYaml}  ann-ac:
    auth_type: v3applicationcredential
    auth:
      auth_url: ${c.baseUrl}/identity
      application_credential_id: ${acId}
      application_credential_secret: ${JSON.stringify(secret)}
    identity_api_version: 3
`,
    );
    const viaYaml = await c.osJson(['token', 'issue'], { cloud: 'ann-ac', env: { OS_CLIENT_CONFIG_FILE: yaml } });
    assert.equal(viaYaml['project_id'], projectId);

    const bad = await c.openstack(['token', 'issue'], { env: { ...acEnv, OS_APPLICATION_CREDENTIAL_SECRET: 'wrong' } });
    assert.notEqual(bad.code, 0);

    // Deleting it stops it working, and kills the tokens it made.
    const acToken = String(t['id']);
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: acToken })).status, 200);
    await c.os(['application', 'credential', 'delete', acId], asAnn);
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: acToken })).status, 401);
    const after1 = await c.openstack(['token', 'issue'], { env: acEnv });
    assert.notEqual(after1.code, 0);
  });

  test('role remove takes effect on the next request of a live token', async () => {
    const token = await c.token({ user: 'ann', password: pw, project: 'e2e-team' });
    assert.equal((await c.api('GET', `/identity/v3/projects/${projectId}`, { token })).status, 200);
    await c.os(['role', 'remove', '--user', 'ann', '--project', 'e2e-team', 'member']);
    assert.equal((await c.api('GET', `/identity/v3/projects/${projectId}`, { token })).status, 401);
    await c.os(['role', 'add', '--user', 'ann', '--project', 'e2e-team', 'member']);
  });

  test('user set --disable stops authentication; user delete removes the user', async () => {
    await c.os(['user', 'create', '--password', 'x-Y-z-123', 'bob']);
    await c.os(['role', 'add', '--user', 'bob', '--project', 'e2e-team', 'reader']);
    const token = await c.token({ user: 'bob', password: 'x-Y-z-123', project: 'e2e-team' });
    await c.os(['user', 'set', '--disable', 'bob']);
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token })).status, 401);
    await assert.rejects(c.token({ user: 'bob', password: 'x-Y-z-123', project: 'e2e-team' }), /401/);
    await c.os(['user', 'delete', 'bob']);
    const r = await c.openstack(['user', 'show', 'bob']);
    assert.notEqual(r.code, 0);
  });
});

describe('token revoke', () => {
  test('a revoked token fails on the next call, the others keep working', async () => {
    const victim = String((await c.osJson(['token', 'issue'], { cloud: 'stacklet' }))['id']);
    const other = String((await c.osJson(['token', 'issue'], { cloud: 'stacklet' }))['id']);
    const tokenEnv = (t: string) => ({
      OS_CLOUD: '',
      OS_CLIENT_CONFIG_FILE: '/dev/null',
      OS_AUTH_TYPE: 'token',
      OS_TOKEN: t,
      OS_AUTH_URL: `${c.baseUrl}/identity`,
      OS_PROJECT_NAME: 'demo',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_IDENTITY_API_VERSION: '3',
    });
    assert.ok((await c.osJson<Row[]>(['project', 'list'], { env: tokenEnv(victim) })).length === 1);

    await c.os(['token', 'revoke', victim], { cloud: 'stacklet' });

    const r = await c.openstack(['project', 'list'], { env: tokenEnv(victim) });
    assert.notEqual(r.code, 0, 'the revoked token still works');
    assert.match(r.stderr, /401|authenticat/i);
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: victim })).status, 401);
    // Rescoping a revoked token fails too.
    const rescope = await c.api('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: victim } } } } });
    assert.equal(rescope.status, 401);

    assert.equal((await c.osJson<Row[]>(['project', 'list'], { env: tokenEnv(other) })).length, 1);
  });

  test('the demo user may not revoke the admin token', async () => {
    const adminToken = await c.token('admin');
    const r = await c.openstack(['token', 'revoke', adminToken], { cloud: 'stacklet' });
    assert.notEqual(r.code, 0);
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: adminToken })).status, 200);
  });
});

describe('groups, domains, regions, services and endpoints', () => {
  test('group create, group add user, role add --group grants through the group', async () => {
    await c.os(['project', 'create', 'e2e-grp-proj']);
    await c.os(['user', 'create', '--password', 'grp-pw-1', 'carol']);
    const g = await c.osJson(['group', 'create', '--description', 'ops people', 'ops']);
    assert.equal(g['name'], 'ops');
    await c.os(['group', 'add', 'user', 'ops', 'carol']);
    const contains = await c.os(['group', 'contains', 'user', 'ops', 'carol']);
    assert.match(contains, /carol in group ops/);
    const members = await c.osJson<Row[]>(['user', 'list', '--group', 'ops']);
    assert.deepEqual(names(members), ['carol']);

    // Without a role carol cannot scope to the project.
    await assert.rejects(c.token({ user: 'carol', password: 'grp-pw-1', project: 'e2e-grp-proj' }), /401/);
    await c.os(['role', 'add', '--group', 'ops', '--project', 'e2e-grp-proj', 'member']);
    const rows = await c.osJson<Row[]>(['role', 'assignment', 'list', '--names', '--group', 'ops']);
    assert.deepEqual(rows.map((r) => [r['Role'], r['Group'], r['Project']]), [['member', 'ops@Default', 'e2e-grp-proj@Default']]);
    const eff = await c.osJson<Row[]>(['role', 'assignment', 'list', '--names', '--effective', '--user', 'carol']);
    assert.ok(eff.some((r) => r['Role'] === 'member' && r['Project'] === 'e2e-grp-proj@Default'));
    const token = await c.token({ user: 'carol', password: 'grp-pw-1', project: 'e2e-grp-proj' });
    assert.ok(token);

    await c.os(['group', 'remove', 'user', 'ops', 'carol']);
    await assert.rejects(c.token({ user: 'carol', password: 'grp-pw-1', project: 'e2e-grp-proj' }), /401/);
    await c.os(['group', 'delete', 'ops']);
    assert.notEqual((await c.openstack(['group', 'show', 'ops'])).code, 0);
  });

  test('domain create / set --disable / delete', async () => {
    const d = await c.osJson(['domain', 'create', '--description', 'lab', 'e2e-dom']);
    assert.equal(d['name'], 'e2e-dom');
    assert.equal(d['enabled'], true);
    const list = await c.osJson<Row[]>(['domain', 'list']);
    assert.deepEqual(names(list).sort(), ['Default', 'e2e-dom']);

    // A project and a user in the new domain, and a name that is free there.
    await c.os(['project', 'create', '--domain', 'e2e-dom', 'demo']);
    await c.os(['user', 'create', '--domain', 'e2e-dom', '--password', 'dom-pw-1', 'dave']);
    await c.os(['role', 'add', '--user', 'dave', '--user-domain', 'e2e-dom', '--project', 'demo', '--project-domain', 'e2e-dom', 'member']);
    // Names are looked up within the domain named by name.
    const auth = await c.api('POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'dave', domain: { name: 'e2e-dom' }, password: 'dom-pw-1' } } },
          scope: { project: { name: 'demo', domain: { name: 'e2e-dom' } } },
        },
      },
    });
    assert.equal(auth.status, 201, auth.text);
    const daveToken = String(auth.headers.get('x-subject-token'));

    const del1 = await c.openstack(['domain', 'delete', 'e2e-dom']);
    assert.notEqual(del1.code, 0, 'an enabled domain cannot be deleted');
    await c.os(['domain', 'set', '--disable', 'e2e-dom']);
    assert.equal((await c.osJson(['domain', 'show', 'e2e-dom']))['enabled'], false);
    assert.equal((await c.api('GET', '/identity/v3/auth/projects', { token: daveToken })).status, 401, 'disabling a domain disables its users');

    const del2 = await c.openstack(['domain', 'delete', 'e2e-dom']);
    assert.notEqual(del2.code, 0, 'a domain that still holds things cannot be deleted');
    await c.os(['user', 'delete', '--domain', 'e2e-dom', 'dave']);
    await c.os(['project', 'delete', '--domain', 'e2e-dom', 'demo']);
    await c.os(['domain', 'delete', 'e2e-dom']);
    assert.deepEqual(names(await c.osJson<Row[]>(['domain', 'list'])), ['Default']);
  });

  test('region create, service create, endpoint create / list / delete', async () => {
    const r = await c.osJson(['region', 'create', '--description', 'the lab', 'LabOne']);
    assert.equal(r['region'], 'LabOne');
    assert.ok(names(await c.osJson<Row[]>(['region', 'list']), 'Region').includes('LabOne'));

    const s = await c.osJson(['service', 'create', '--name', 'thing', '--description', 'a test service', 'thingy']);
    assert.equal(s['type'], 'thingy');
    const sid = String(s['id']);
    const services = await c.osJson<Row[]>(['service', 'list']);
    assert.ok(services.some((x) => x['Type'] === 'thingy' && x['Name'] === 'thing'));

    const e = await c.osJson(['endpoint', 'create', '--region', 'LabOne', 'thingy', 'public', 'http://127.0.0.1:9/thing']);
    assert.equal(e['interface'], 'public');
    assert.equal(e['region'], 'LabOne');
    assert.equal(e['url'], 'http://127.0.0.1:9/thing');
    assert.equal(e['service_id'], sid);
    const eid = String(e['id']);

    const eps = await c.osJson<Row[]>(['endpoint', 'list', '--service', 'thingy']);
    assert.deepEqual(eps.map((x) => x['ID']), [eid]);
    const shownE = await c.osJson(['endpoint', 'show', eid]);
    assert.equal(shownE['url'], 'http://127.0.0.1:9/thing');

    const cat = await c.osJson<Row[]>(['catalog', 'list']);
    assert.ok(cat.some((x) => x['Type'] === 'thingy'), 'a new endpoint shows in the catalog');

    assert.notEqual((await c.openstack(['region', 'delete', 'LabOne'])).code, 0, 'a region with endpoints cannot be deleted');
    await c.os(['endpoint', 'delete', eid]);
    assert.deepEqual(await c.osJson<Row[]>(['endpoint', 'list', '--service', 'thingy']), []);
    await c.os(['service', 'delete', sid]);
    await c.os(['region', 'delete', 'LabOne']);
    assert.ok(!names(await c.osJson<Row[]>(['region', 'list']), 'Region').includes('LabOne'));
  });

  test('role create / list / delete of a custom role; built-ins are protected', async () => {
    await c.os(['role', 'create', 'auditor']);
    assert.ok(names(await c.osJson<Row[]>(['role', 'list'])).includes('auditor'));
    await c.os(['role', 'delete', 'auditor']);
    assert.ok(!names(await c.osJson<Row[]>(['role', 'list'])).includes('auditor'));
    const r = await c.openstack(['role', 'delete', 'member']);
    assert.notEqual(r.code, 0);
    assert.deepEqual(names(await c.osJson<Row[]>(['role', 'list'])).sort(), ['admin', 'member', 'reader']);
  });
});
