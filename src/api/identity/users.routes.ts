import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuthContext, RoleRef } from '../../core/auth.js';
import { badRequest, forbidden, notFound, unauthorized } from '../../core/errors.js';
import { hexId, nowIso } from '../../core/ids.js';
import { generateSecret, hashSecret, verifySecret } from '../../core/identity/passwords.js';
import { requireAdmin, requireAuth } from '../../core/policy.js';
import type { CloudContext } from '../context.js';
import { projectsOf } from './auth.routes.js';
import { boolInt, queryBool, queryString, uniquely } from './common.js';
import { AppCredentialCreate, GroupCreate, GroupUpdate, IdParam, PasswordChange, UserCreate, UserUpdate } from './schemas.js';
import { appCredentialView, collection, groupView, projectView, userView } from './views.js';

type Q = Record<string, unknown>;
const KNOWN_USER = new Set(['name', 'domain_id', 'default_project_id', 'password', 'enabled', 'description', 'email', 'options', 'id']);
const UserGroupParams = Type.Object({ gid: Type.String({ maxLength: 255 }), uid: Type.String({ maxLength: 255 }) });
const AppCredParams = Type.Object({ id: Type.String({ maxLength: 255 }), acid: Type.String({ maxLength: 255 }) });

/** The caller is the user named in the path, or admin. */
function selfOrAdmin(auth: AuthContext | undefined, userId: string): AuthContext {
  const a = requireAuth(auth);
  if (!a.isAdmin && a.userId !== userId) throw forbidden('You may only do this for your own user (or be admin).');
  return a;
}

function extraAttrs(b: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(b).filter(([k]) => !KNOWN_USER.has(k)));
}

export function registerUserRoutes(app: FastifyInstance, ctx: CloudContext, base: string): void {
  const { identity } = ctx;
  const repo = identity.repo;
  const cost = ctx.cfg.passwordHashCost;

  app.get<{ Querystring: Q }>('/v3/users', async (req) => {
    requireAdmin(req.auth, 'identity:list_users');
    const f: Parameters<typeof repo.listUsers>[0] = {};
    const name = queryString(req.query['name']);
    const domainId = queryString(req.query['domain_id']);
    const enabled = queryBool(req.query['enabled']);
    if (name !== undefined) f.name = name;
    if (domainId !== undefined) f.domainId = domainId;
    if (enabled !== undefined) f.enabled = enabled;
    const rows = await repo.listUsers(f);
    return collection(base, 'users', 'users', rows.map((u) => userView(base, u)));
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v3/users/:id', { schema: { params: IdParam } }, async (req) => {
    const auth = requireAuth(req.auth);
    const u = await repo.getUser(req.params.id);
    if (!u || (!auth.isAdmin && u.id !== auth.userId)) throw notFound(`Could not find user: ${req.params.id}.`);
    return { user: userView(base, u) };
  });

  app.post<{ Body: Static<typeof UserCreate> }>('/v3/users', { schema: { body: UserCreate } }, async (req, reply) => {
    const auth = requireAdmin(req.auth, 'identity:create_user');
    const b = req.body.user;
    const domainId = b.domain_id ?? auth.projectDomainId ?? auth.domainId ?? 'default';
    if (!(await repo.getDomain(domainId))) throw notFound(`Could not find domain: ${domainId}.`);
    if (b.default_project_id && !(await repo.getProject(b.default_project_id))) {
      throw notFound(`Could not find project: ${b.default_project_id} (the default project).`);
    }
    const row = {
      id: hexId(),
      name: b.name,
      domain_id: domainId,
      default_project_id: b.default_project_id ?? null,
      description: b.description ?? '',
      email: b.email ?? null,
      enabled: boolInt(b.enabled, true),
      password_hash: b.password ? await hashSecret(b.password, cost) : null,
      password_expires_at: null,
      extra: JSON.stringify(extraAttrs(b)),
      created_at: nowIso(),
    };
    await uniquely(`user ${b.name}`, () => repo.insertUser(row));
    return reply.code(201).send({ user: userView(base, row) });
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof UserUpdate> }>(
    '/v3/users/:id',
    { schema: { params: IdParam, body: UserUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_user');
      const u = await repo.getUser(req.params.id);
      if (!u) throw notFound(`Could not find user: ${req.params.id}.`);
      const b = req.body.user;
      const patch: Partial<typeof u> = {};
      if (b.name !== undefined) patch.name = b.name;
      if (b.description !== undefined) patch.description = b.description ?? '';
      if (b.email !== undefined) patch.email = b.email;
      if (b.enabled !== undefined) patch.enabled = b.enabled ? 1 : 0;
      if (b.default_project_id !== undefined) {
        if (b.default_project_id && !(await repo.getProject(b.default_project_id))) {
          throw notFound(`Could not find project: ${b.default_project_id} (the default project).`);
        }
        patch.default_project_id = b.default_project_id;
      }
      if (b.password !== undefined) patch.password_hash = b.password ? await hashSecret(b.password, cost) : null;
      const ex = extraAttrs(b);
      if (Object.keys(ex).length) patch.extra = JSON.stringify({ ...(JSON.parse(u.extra) as object), ...ex });
      await uniquely(`user ${b.name ?? u.name}`, () => repo.updateUser(u.id, patch));
      if (b.enabled === false || b.password !== undefined) await identity.revokeAllFor({ userId: u.id });
      return { user: userView(base, { ...u, ...patch }) };
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>('/v3/users/:id', { schema: { params: IdParam } }, async (req, reply) => {
    const auth = requireAdmin(req.auth, 'identity:delete_user');
    const u = await repo.getUser(req.params.id);
    if (!u) throw notFound(`Could not find user: ${req.params.id}.`);
    if (u.id === auth.userId) throw forbidden('You cannot delete the user you are logged in as.');
    await repo.deleteUser(u.id);
    await identity.revokeAllFor({ userId: u.id });
    return reply.code(204).send();
  });

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof PasswordChange> }>(
    '/v3/users/:id/password',
    { config: { public: true }, schema: { params: IdParam, body: PasswordChange } },
    async (req, reply) => {
      // Keystone lets a user change their own password with the old one, token or not.
      const u = await repo.getUser(req.params.id);
      const ok = u?.password_hash ? await verifySecret(req.body.user.original_password, u.password_hash) : false;
      if (!u || !ok || !u.enabled) throw unauthorized('The original password is wrong, or the user does not exist.');
      await repo.updateUser(u.id, { password_hash: await hashSecret(req.body.user.password, cost) });
      await identity.revokeAllFor({ userId: u.id });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: Static<typeof IdParam> }>('/v3/users/:id/projects', { schema: { params: IdParam } }, async (req) => {
    selfOrAdmin(req.auth, req.params.id);
    if (!(await repo.getUser(req.params.id))) throw notFound(`Could not find user: ${req.params.id}.`);
    const projects = await projectsOf(ctx, req.params.id);
    return collection(base, `users/${req.params.id}/projects`, 'projects', projects.map((p) => projectView(base, p)));
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v3/users/:id/groups', { schema: { params: IdParam } }, async (req) => {
    selfOrAdmin(req.auth, req.params.id);
    if (!(await repo.getUser(req.params.id))) throw notFound(`Could not find user: ${req.params.id}.`);
    const groups = await repo.listGroups({ userId: req.params.id });
    return collection(base, `users/${req.params.id}/groups`, 'groups', groups.map((g) => groupView(base, g)));
  });

  // --- groups
  app.get<{ Querystring: Q }>('/v3/groups', async (req) => {
    requireAdmin(req.auth, 'identity:list_groups');
    const f: Parameters<typeof repo.listGroups>[0] = {};
    const name = queryString(req.query['name']);
    const domainId = queryString(req.query['domain_id']);
    if (name !== undefined) f.name = name;
    if (domainId !== undefined) f.domainId = domainId;
    const rows = await repo.listGroups(f);
    return collection(base, 'groups', 'groups', rows.map((g) => groupView(base, g)));
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v3/groups/:id', { schema: { params: IdParam } }, async (req) => {
    requireAdmin(req.auth, 'identity:get_group');
    const g = await repo.getGroup(req.params.id);
    if (!g) throw notFound(`Could not find group: ${req.params.id}.`);
    return { group: groupView(base, g) };
  });

  app.post<{ Body: Static<typeof GroupCreate> }>('/v3/groups', { schema: { body: GroupCreate } }, async (req, reply) => {
    const auth = requireAdmin(req.auth, 'identity:create_group');
    const b = req.body.group;
    const domainId = b.domain_id ?? auth.projectDomainId ?? 'default';
    if (!(await repo.getDomain(domainId))) throw notFound(`Could not find domain: ${domainId}.`);
    const row = { id: hexId(), name: b.name, domain_id: domainId, description: b.description ?? '', created_at: nowIso() };
    await uniquely(`group ${b.name}`, () => repo.insertGroup(row));
    return reply.code(201).send({ group: groupView(base, row) });
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof GroupUpdate> }>(
    '/v3/groups/:id',
    { schema: { params: IdParam, body: GroupUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_group');
      const g = await repo.getGroup(req.params.id);
      if (!g) throw notFound(`Could not find group: ${req.params.id}.`);
      const patch: Partial<typeof g> = {};
      if (req.body.group.name !== undefined) patch.name = req.body.group.name;
      if (req.body.group.description !== undefined) patch.description = req.body.group.description;
      await uniquely(`group ${patch.name ?? g.name}`, () => repo.updateGroup(g.id, patch));
      return { group: groupView(base, { ...g, ...patch }) };
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>('/v3/groups/:id', { schema: { params: IdParam } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_group');
    const g = await repo.getGroup(req.params.id);
    if (!g) throw notFound(`Could not find group: ${req.params.id}.`);
    await repo.deleteGroup(g.id);
    return reply.code(204).send();
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v3/groups/:id/users', { schema: { params: IdParam } }, async (req) => {
    requireAdmin(req.auth, 'identity:list_users_in_group');
    if (!(await repo.getGroup(req.params.id))) throw notFound(`Could not find group: ${req.params.id}.`);
    const users = await repo.listUsers({ groupId: req.params.id });
    return collection(base, `groups/${req.params.id}/users`, 'users', users.map((u) => userView(base, u)));
  });

  const membership = async (gid: string, uid: string) => {
    if (!(await repo.getGroup(gid))) throw notFound(`Could not find group: ${gid}.`);
    if (!(await repo.getUser(uid))) throw notFound(`Could not find user: ${uid}.`);
  };
  app.put<{ Params: Static<typeof UserGroupParams> }>('/v3/groups/:gid/users/:uid', { schema: { params: UserGroupParams } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:add_user_to_group');
    await membership(req.params.gid, req.params.uid);
    await repo.addMember(req.params.gid, req.params.uid);
    return reply.code(204).send();
  });
  app.route<{ Params: Static<typeof UserGroupParams> }>({
    method: ['HEAD', 'GET'],
    url: '/v3/groups/:gid/users/:uid',
    schema: { params: UserGroupParams },
    handler: async (req, reply) => {
      requireAdmin(req.auth, 'identity:check_user_in_group');
      await membership(req.params.gid, req.params.uid);
      if (!(await repo.isMember(req.params.gid, req.params.uid))) throw notFound(`User ${req.params.uid} is not in group ${req.params.gid}.`);
      return reply.code(204).send();
    },
  });
  app.delete<{ Params: Static<typeof UserGroupParams> }>('/v3/groups/:gid/users/:uid', { schema: { params: UserGroupParams } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:remove_user_from_group');
    await membership(req.params.gid, req.params.uid);
    if (!(await repo.removeMember(req.params.gid, req.params.uid))) throw notFound(`User ${req.params.uid} is not in group ${req.params.gid}.`);
    return reply.code(204).send();
  });

  // --- application credentials (a user's own)
  app.get<{ Params: Static<typeof IdParam>; Querystring: Q }>('/v3/users/:id/application_credentials', { schema: { params: IdParam } }, async (req) => {
    selfOrAdmin(req.auth, req.params.id);
    const rows = await repo.listAppCredentials(req.params.id, queryString(req.query['name']));
    return collection(base, `users/${req.params.id}/application_credentials`, 'application_credentials', rows.map((a) => appCredentialView(base, a)));
  });

  app.get<{ Params: Static<typeof AppCredParams> }>('/v3/users/:id/application_credentials/:acid', { schema: { params: AppCredParams } }, async (req) => {
    selfOrAdmin(req.auth, req.params.id);
    const a = await repo.getAppCredential(req.params.acid);
    if (!a || a.user_id !== req.params.id) throw notFound(`Could not find application credential: ${req.params.acid}.`);
    return { application_credential: appCredentialView(base, a) };
  });

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof AppCredentialCreate> }>(
    '/v3/users/:id/application_credentials',
    { schema: { params: IdParam, body: AppCredentialCreate } },
    async (req, reply) => {
      const auth = requireAuth(req.auth);
      if (auth.userId !== req.params.id) throw forbidden('Application credentials can only be created for your own user.');
      if (auth.appCredentialId) throw forbidden('An application credential cannot create another one.');
      if (!auth.projectId) throw forbidden('Create application credentials with a project-scoped token: they act on that project.');
      const b = req.body.application_credential;
      let expires: string | null = null;
      if (b.expires_at) {
        const t = Date.parse(b.expires_at);
        if (Number.isNaN(t)) throw badRequest(`expires_at "${b.expires_at}" is not a date; use ISO 8601, e.g. 2027-01-01T00:00:00.`);
        if (t <= Date.now()) throw badRequest('expires_at is in the past.');
        expires = new Date(t).toISOString();
      }
      const roles: RoleRef[] = [];
      if (b.roles && b.roles.length > 0) {
        for (const r of b.roles) {
          const found = r.id !== undefined ? auth.roles.find((x) => x.id === r.id) : auth.roles.find((x) => x.name === r.name);
          if (!found) throw forbidden(`You do not hold role ${r.id ?? r.name ?? '?'} on this project, so you cannot delegate it.`);
          roles.push(found);
        }
      } else {
        roles.push(...auth.roles);
      }
      const secret = b.secret ?? generateSecret(32);
      const row = {
        id: hexId(),
        name: b.name,
        user_id: auth.userId,
        project_id: auth.projectId,
        description: b.description ?? '',
        secret_hash: await hashSecret(secret, cost),
        expires_at: expires,
        unrestricted: b.unrestricted ? 1 : 0,
        roles: JSON.stringify(roles.map((r) => ({ id: r.id, name: r.name, domain_id: null }))),
        created_at: nowIso(),
      };
      await uniquely(`application credential ${b.name}`, () => repo.insertAppCredential(row));
      return reply.code(201).send({ application_credential: appCredentialView(base, row, secret) });
    },
  );

  app.delete<{ Params: Static<typeof AppCredParams> }>('/v3/users/:id/application_credentials/:acid', { schema: { params: AppCredParams } }, async (req, reply) => {
    selfOrAdmin(req.auth, req.params.id);
    const a = await repo.getAppCredential(req.params.acid);
    if (!a || a.user_id !== req.params.id) throw notFound(`Could not find application credential: ${req.params.acid}.`);
    await repo.deleteAppCredential(a.id);
    await identity.revokeAllFor({ appCredId: a.id });
    return reply.code(204).send();
  });
}
