import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireAuth } from '../../core/policy.js';
import { forbidden, unauthorized } from '../../core/errors.js';
import type { AuthRequest } from '../../core/identity/service.js';
import type { CloudContext } from '../context.js';
import { AuthBody } from './schemas.js';
import { queryBool } from './common.js';
import { collection, domainView, projectView, tokenView } from './views.js';

function subjectToken(headers: Record<string, string | string[] | undefined>): string {
  const h = headers['x-subject-token'];
  const t = Array.isArray(h) ? h[0] : h;
  if (!t) throw unauthorized('X-Subject-Token is required: it names the token to act on.');
  return t;
}

export function registerAuthRoutes(app: FastifyInstance, ctx: CloudContext, base: string): void {
  const { identity } = ctx;

  app.post<{ Body: Static<typeof AuthBody>; Querystring: { nocatalog?: string } }>(
    '/v3/auth/tokens',
    { config: { public: true }, schema: { body: AuthBody } },
    async (req, reply) => {
      const { token, ctx: auth } = await identity.authenticate(req.body.auth as AuthRequest);
      const noCatalog = queryBool(req.query.nocatalog) === true || req.query.nocatalog === '';
      const catalog = noCatalog ? undefined : await identity.catalog(auth);
      return reply.code(201).header('x-subject-token', token).send(tokenView(auth, catalog));
    },
  );

  app.get<{ Querystring: { nocatalog?: string } }>('/v3/auth/tokens', async (req, reply) => {
    requireAuth(req.auth);
    const token = subjectToken(req.headers);
    const subject = await identity.validateSubject(token);
    assertMayInspect(req.auth, subject.userId);
    const noCatalog = req.query.nocatalog !== undefined;
    return reply.header('x-subject-token', token).send(tokenView(subject, noCatalog ? undefined : await identity.catalog(subject)));
  });

  app.head('/v3/auth/tokens', async (req, reply) => {
    const subject = await identity.validateSubject(subjectToken(req.headers));
    assertMayInspect(req.auth, subject.userId);
    return reply.code(200).send();
  });

  app.delete('/v3/auth/tokens', async (req, reply) => {
    const subject = await identity.validateSubject(subjectToken(req.headers));
    assertMayInspect(req.auth, subject.userId);
    await identity.revokeToken(subject);
    return reply.code(204).send();
  });

  app.get('/v3/auth/catalog', async (req) => {
    const auth = requireAuth(req.auth);
    return { catalog: await identity.catalog(auth), links: { self: `${base}/v3/auth/catalog`, previous: null, next: null } };
  });

  app.get('/v3/auth/projects', async (req) => {
    const auth = requireAuth(req.auth);
    const projects = await projectsOf(ctx, auth.userId);
    return collection(base, 'auth/projects', 'projects', projects.map((p) => projectView(base, p)));
  });

  app.get('/v3/auth/domains', async (req) => {
    const auth = requireAuth(req.auth);
    const repo = identity.repo;
    const groups = await repo.groupIdsOf(auth.userId);
    const asg = await repo.listAssignments({ actorIds: [auth.userId, ...groups], targetType: 'domain' });
    const ids = [...new Set(asg.map((a) => a.target_id))];
    const domains = (await repo.listDomains({ enabled: true })).filter((d) => ids.includes(d.id));
    return collection(base, 'auth/domains', 'domains', domains.map((d) => domainView(base, d)));
  });

  app.get('/v3/auth/system', async (req) => {
    requireAuth(req.auth);
    return { system: [], links: { self: `${base}/v3/auth/system`, previous: null, next: null } };
  });
}

/**
 * A user may inspect or revoke their own tokens; admin may do so for anyone.
 * Refusal is 403, as Keystone answers: a 401 would make keystoneauth drop
 * the caller's own (good) token and authenticate again.
 */
function assertMayInspect(auth: import('../../core/auth.js').AuthContext | undefined, subjectUserId: string): void {
  const a = requireAuth(auth);
  if (!a.isAdmin && a.userId !== subjectUserId) {
    throw forbidden('You may only inspect or revoke your own tokens.');
  }
}

/** Projects on which the user has any role (directly, through a group, or inherited from the domain). */
export async function projectsOf(ctx: CloudContext, userId: string) {
  return ctx.identity.projectsOf(userId);
}
