import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type OpenedStore } from '../../store/db.js';
import { IdentityRepo } from '../../store/identity/repo.js';
import { CloudError } from '../errors.js';
import { hexId, nowIso } from '../ids.js';
import { bootstrapIdentity } from './bootstrap.js';
import { hashSecret } from './passwords.js';
import { IdentityService, type AuthRequest } from './service.js';
import { TokenSigner } from './tokens.js';

/** IdentityService against a real (in-memory) store: authentication, scoping, roles, revocation, expiry. */

const COST = 1024;
let store: OpenedStore;
let repo: IdentityRepo;
let ids: IdentityService;
const signer = new TokenSigner(TokenSigner.generateKey());
const roleId: Record<string, string> = {};
let demoProject = '';
let adminProject = '';

before(async () => {
  store = await openStore(':memory:');
  repo = new IdentityRepo(store.db);
  assert.equal(await bootstrapIdentity(repo, { adminPassword: 'admin-pw', demoPassword: 'demo-pw' }, 'RegionOne', COST), true);
  assert.equal(await bootstrapIdentity(repo, { adminPassword: 'other', demoPassword: 'other' }, 'RegionOne', COST), false, 'bootstrap runs once');
  ids = new IdentityService(repo, signer, 3600_000);
  for (const r of await repo.allRoles()) roleId[r.name] = r.id;
  demoProject = (await repo.getProjectByName('default', 'demo'))?.id ?? '';
  adminProject = (await repo.getProjectByName('default', 'admin'))?.id ?? '';
});
after(async () => {
  await store.close();
});

const pw = (name: string, password: string, scope?: AuthRequest['scope']): AuthRequest => ({
  identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } },
  ...(scope !== undefined ? { scope } : {}),
});
const project = (name: string) => ({ project: { name, domain: { id: 'default' } } });

async function status(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof CloudError, String(err));
    return err.status;
  }
}

async function addUser(name: string, password: string, grants: [string, string][] = []): Promise<string> {
  const id = hexId();
  await repo.insertUser({
    id, name, domain_id: 'default', default_project_id: null, description: '', email: null, enabled: 1,
    password_hash: await hashSecret(password, COST), password_expires_at: null, extra: '{}', created_at: nowIso(),
  });
  for (const [projectId, role] of grants) {
    await repo.grant({ actor_type: 'user', actor_id: id, target_type: 'project', target_id: projectId, role_id: roleId[role] ?? '', inherited: 0 });
  }
  return id;
}

describe('password authentication and scope', () => {
  test('bootstrap: admin is admin on admin, demo is member on demo; implied roles resolve', async () => {
    const a = await ids.authenticate(pw('admin', 'admin-pw', project('admin')));
    assert.equal(a.ctx.projectId, adminProject);
    assert.deepEqual(a.ctx.roles.map((r) => r.name).sort(), ['admin', 'member', 'reader']);
    assert.equal(a.ctx.isAdmin && a.ctx.isMember && a.ctx.isReader, true);
    const d = await ids.authenticate(pw('demo', 'demo-pw', project('demo')));
    assert.deepEqual(d.ctx.roles.map((r) => r.name).sort(), ['member', 'reader']);
    assert.equal(d.ctx.isAdmin, false);
    assert.equal(d.ctx.isMember, true);
  });

  test('no scope asked: the default project; "unscoped": none', async () => {
    const d = await ids.authenticate(pw('demo', 'demo-pw'));
    assert.equal(d.ctx.projectId, demoProject);
    const u = await ids.authenticate(pw('demo', 'demo-pw', 'unscoped'));
    assert.equal(u.ctx.projectId, undefined);
    assert.deepEqual(u.ctx.roles, []);
  });

  test('wrong password, unknown user, no role on the project, unknown or disabled project: 401', async () => {
    assert.equal(await status(ids.authenticate(pw('demo', 'nope'))), 401);
    assert.equal(await status(ids.authenticate(pw('ghost', 'demo-pw'))), 401);
    assert.equal(await status(ids.authenticate(pw('demo', 'demo-pw', project('admin')))), 401);
    assert.equal(await status(ids.authenticate(pw('demo', 'demo-pw', project('nope')))), 401);
    assert.equal(await status(ids.authenticate(pw('demo', 'demo-pw', { system: { all: true } }))), 401);
    assert.equal(await status(ids.authenticate({ identity: { methods: ['totp'] } })), 401);
    assert.equal(await status(ids.authenticate({ identity: { methods: ['password', 'token'] } })), 400);
    assert.equal(await status(ids.authenticate({ identity: { methods: ['password'] } })), 400);
  });

  test('group roles and inherited domain roles count', async () => {
    const uid = await addUser('gina', 'gina-pw');
    assert.equal(await status(ids.authenticate(pw('gina', 'gina-pw', project('demo')))), 401);
    const gid = hexId();
    await repo.insertGroup({ id: gid, name: 'readers', domain_id: 'default', description: '', created_at: nowIso() });
    await repo.addMember(gid, uid);
    await repo.grant({ actor_type: 'group', actor_id: gid, target_type: 'project', target_id: demoProject, role_id: roleId['reader'] ?? '', inherited: 0 });
    const r = await ids.authenticate(pw('gina', 'gina-pw', project('demo')));
    assert.deepEqual(r.ctx.roles.map((x) => x.name), ['reader']);
    assert.equal(r.ctx.isMember, false);

    const uid2 = await addUser('ivan', 'ivan-pw');
    await repo.grant({ actor_type: 'user', actor_id: uid2, target_type: 'domain', target_id: 'default', role_id: roleId['member'] ?? '', inherited: 1 });
    const i = await ids.authenticate(pw('ivan', 'ivan-pw', project('admin')));
    assert.equal(i.ctx.isMember, true, 'an inherited domain grant lands on every project of the domain');
    assert.equal(await status(ids.authenticate(pw('ivan', 'ivan-pw', { domain: { id: 'default' } }))), 401, 'an inherited grant is not a role on the domain itself');
  });
});

describe('validation, caching and revocation', () => {
  test('validate returns the context and notices a role removed since (cache keyed on the store generation)', async () => {
    const uid = await addUser('rita', 'rita-pw', [[demoProject, 'member']]);
    const { token } = await ids.authenticate(pw('rita', 'rita-pw', project('demo')));
    assert.equal((await ids.validate(token)).isMember, true);
    assert.equal((await ids.validate(token)).isMember, true, 'cached');
    await repo.revoke({ actor_type: 'user', actor_id: uid, target_type: 'project', target_id: demoProject, role_id: roleId['member'] ?? '', inherited: 0 });
    assert.equal(await status(ids.validate(token)), 401);
    await repo.grant({ actor_type: 'user', actor_id: uid, target_type: 'project', target_id: demoProject, role_id: roleId['reader'] ?? '', inherited: 0 });
    const again = await ids.validate(token);
    assert.equal(again.isMember, false);
    assert.equal(again.isReader, true, 'roles are resolved at validation, not baked into the token');
  });

  test('revoking a token kills it and every token rescoped from it, not its siblings', async () => {
    const parent = (await ids.authenticate(pw('demo', 'demo-pw', 'unscoped'))).token;
    const sibling = (await ids.authenticate(pw('demo', 'demo-pw', 'unscoped'))).token;
    const child = await ids.authenticate({ identity: { methods: ['token'], token: { id: parent } }, scope: { project: { id: demoProject } } });
    assert.deepEqual(child.ctx.methods.sort(), ['password', 'token']);
    assert.equal(child.ctx.auditIds.length, 2);
    await ids.validate(child.token);
    await ids.revokeToken(await ids.validate(parent));
    assert.equal(await status(ids.validate(parent)), 401);
    assert.equal(await status(ids.validate(child.token)), 401);
    assert.equal(await status(ids.validateSubject(parent)), 404);
    assert.equal((await ids.validate(sibling)).userName, 'demo');
    assert.equal(await status(ids.authenticate({ identity: { methods: ['token'], token: { id: parent } } })), 401);
  });

  test('revokeAllFor a user ends the tokens issued so far, not later ones', async () => {
    await addUser('vic', 'vic-pw', [[demoProject, 'member']]);
    const before1 = (await ids.authenticate(pw('vic', 'vic-pw', project('demo')))).token;
    await ids.validate(before1);
    await ids.revokeAllFor({ userId: (await ids.validate(before1)).userId });
    assert.equal(await status(ids.validate(before1)), 401);
    await new Promise((r) => setTimeout(r, 5));
    const later = (await ids.authenticate(pw('vic', 'vic-pw', project('demo')))).token;
    assert.equal((await ids.validate(later)).userName, 'vic');
  });

  test('a disabled user, project or domain ends live tokens', async () => {
    const uid = await addUser('dora', 'dora-pw', [[demoProject, 'member']]);
    const t = (await ids.authenticate(pw('dora', 'dora-pw', project('demo')))).token;
    await ids.validate(t);
    await repo.updateUser(uid, { enabled: 0 });
    assert.equal(await status(ids.validate(t)), 401);
    await repo.updateUser(uid, { enabled: 1 });
    assert.equal((await ids.validate(t)).userName, 'dora');
  });

  test('a token expires with the TTL, even when it was cached', async () => {
    const short = new IdentityService(repo, signer, 1200);
    const { token, ctx } = await short.authenticate(pw('demo', 'demo-pw', project('demo')));
    assert.ok(Date.parse(ctx.expiresAt) - Date.now() <= 1200);
    assert.equal((await short.validate(token)).userName, 'demo');
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(await status(short.validate(token)), 401);
    // A rescoped token never outlives its parent.
    const p = await short.authenticate(pw('demo', 'demo-pw', 'unscoped'));
    const child = await new IdentityService(repo, signer, 3600_000).authenticate({ identity: { methods: ['token'], token: { id: p.token } } });
    assert.ok(Date.parse(child.ctx.expiresAt) <= Date.parse(p.ctx.expiresAt));
  });
});

describe('application credentials', () => {
  test('an app credential authenticates to its project with only its roles, and cannot be rescoped', async () => {
    const uid = await addUser('alma', 'alma-pw', [[demoProject, 'member']]);
    const acId = hexId();
    await repo.insertAppCredential({
      id: acId, name: 'ro', user_id: uid, project_id: demoProject, description: '', secret_hash: await hashSecret('ac-secret', COST),
      expires_at: null, unrestricted: 0, roles: JSON.stringify([{ id: roleId['reader'], name: 'reader' }]), created_at: nowIso(),
    });
    const ac = await ids.authenticate({ identity: { methods: ['application_credential'], application_credential: { id: acId, secret: 'ac-secret' } } });
    assert.equal(ac.ctx.projectId, demoProject);
    assert.equal(ac.ctx.appCredentialId, acId);
    assert.deepEqual(ac.ctx.roles.map((r) => r.name), ['reader'], 'only the delegated role, though the user is member');
    assert.equal(ac.ctx.isMember, false);
    const byName = await ids.authenticate({ identity: { methods: ['application_credential'], application_credential: { name: 'ro', secret: 'ac-secret', user: { name: 'alma', domain: { id: 'default' } } } } });
    assert.equal(byName.ctx.appCredentialId, acId);

    assert.equal(await status(ids.authenticate({ identity: { methods: ['application_credential'], application_credential: { id: acId, secret: 'wrong' } } })), 401);
    assert.equal(await status(ids.authenticate({ identity: { methods: ['application_credential'], application_credential: { secret: 'ac-secret' } } })), 400);
    assert.equal(await status(ids.authenticate({ identity: { methods: ['token'], token: { id: ac.token } } })), 401);
    assert.equal(
      await status(ids.authenticate({ identity: { methods: ['application_credential'], application_credential: { id: acId, secret: 'ac-secret' } }, scope: { project: { id: adminProject } } })),
      401,
    );
    await repo.deleteAppCredential(acId);
    assert.equal(await status(ids.validate(ac.token)), 401, 'deleting the credential ends its tokens');
  });

  test('an expired app credential is refused', async () => {
    const uid = await addUser('olga', 'olga-pw', [[demoProject, 'member']]);
    const acId = hexId();
    await repo.insertAppCredential({
      id: acId, name: 'old', user_id: uid, project_id: demoProject, description: '', secret_hash: await hashSecret('s', COST),
      expires_at: new Date(Date.now() - 1000).toISOString(), unrestricted: 0, roles: JSON.stringify([{ id: roleId['member'], name: 'member' }]), created_at: nowIso(),
    });
    assert.equal(await status(ids.authenticate({ identity: { methods: ['application_credential'], application_credential: { id: acId, secret: 's' } } })), 401);
  });
});

test('the catalog substitutes the project id and hides project-templated endpoints from unscoped tokens', async () => {
  const sid = hexId();
  await repo.insertService({ id: sid, type: 'compute', name: 'nova', description: '', enabled: 1, managed: 0, created_at: nowIso() });
  await repo.insertEndpoint({ id: hexId(), service_id: sid, interface: 'public', url: 'http://x/v2.1/$(project_id)s', region_id: 'RegionOne', enabled: 1, created_at: nowIso() });
  const scoped = await ids.authenticate(pw('demo', 'demo-pw', project('demo')));
  const cat = await ids.catalog(scoped.ctx);
  assert.equal(cat.find((s) => s.type === 'compute')?.endpoints[0]?.url, `http://x/v2.1/${demoProject}`);
  const unscoped = await ids.authenticate(pw('demo', 'demo-pw', 'unscoped'));
  assert.deepEqual((await ids.catalog(unscoped.ctx)).find((s) => s.type === 'compute')?.endpoints, []);
});
