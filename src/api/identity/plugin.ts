import type { FastifyInstance } from 'fastify';
import type { CloudContext, ServicePlugin } from '../context.js';
import { keystoneError } from '../errors.js';
import { registerAuthRoutes } from './auth.routes.js';
import { registerProjectRoutes } from './projects.routes.js';
import { registerUserRoutes } from './users.routes.js';
import { registerRoleRoutes } from './roles.routes.js';
import { registerCatalogRoutes } from './catalog.routes.js';

const UPDATED = '2022-09-07T00:00:00Z';

/** The v3 version document, as keystoneauth's discovery reads it. */
export function identityVersion(base: string) {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: UPDATED,
    links: [{ rel: 'self', href: `${base}/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

export const identityPlugin: ServicePlugin = {
  type: 'identity',
  name: 'keystone',
  prefix: '/identity',
  catalogPath: '/identity',
  renderError: keystoneError,
  async register(app: FastifyInstance, ctx: CloudContext) {
    const base = `${ctx.baseUrl}/identity`;
    app.get('/', { config: { public: true } }, async (_req, reply) =>
      reply.code(300).send({ versions: { values: [identityVersion(base)] } }),
    );
    app.get('/v3', { config: { public: true } }, async () => ({ version: identityVersion(base) }));
    registerAuthRoutes(app, ctx, base);
    registerProjectRoutes(app, ctx, base);
    registerUserRoutes(app, ctx, base);
    registerRoleRoutes(app, ctx, base);
    registerCatalogRoutes(app, ctx, base);
  },
};
