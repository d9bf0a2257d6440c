import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuthContext } from '../../core/auth.js';
import { CloudError, badRequest } from '../../core/errors.js';
import { requireProjectRole } from '../../core/policy.js';
import { explain } from '../../core/explain/explain.js';
import type { Probe } from '../../core/explain/model.js';
import type { CloudContext, ServicePlugin } from '../context.js';
import { keystoneError } from '../errors.js';
import { loadWorld, type ServerLookup } from './world.js';

interface NovaServer {
  id: string;
  name: string;
  status: string;
  tenant_id: string;
  fault?: { message?: string };
}

/**
 * Servers are read through the compute API itself, with the caller's token:
 * what the caller may see there is exactly what it may ask about here, and
 * this route needs nothing private from compute.
 */
function serversVia(app: FastifyInstance, auth: AuthContext): ServerLookup {
  return async (id) => {
    const r = await app.inject({
      method: 'GET',
      url: `/compute/v2.1/servers/${encodeURIComponent(id)}`,
      headers: { 'x-auth-token': auth.token, accept: 'application/json' },
    });
    if (r.statusCode === 404) return undefined;
    if (r.statusCode !== 200) {
      throw new CloudError(r.statusCode === 403 ? 'Forbidden' : 'ServiceUnavailable', `The compute API answered ${r.statusCode} for server ${id}.`);
    }
    const s = (r.json() as { server: NovaServer }).server;
    const fault = s.fault?.message;
    return { id: s.id, name: s.name, status: s.status, projectId: s.tenant_id, ...(fault ? { fault } : {}) };
  };
}

const ExplainQuery = Type.Object(
  {
    server: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }),
    from: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' })),
    protocol: Type.Unsafe<'icmp' | 'tcp' | 'udp'>({ type: 'string', enum: ['icmp', 'tcp', 'udp'] }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  { additionalProperties: false },
);

/**
 * Stacklet's own routes under /stacklet/v1, outside the catalog (no
 * catalogPath): `GET /stacklet/v1/explain` answers "why can't I reach this
 * instance?" for the dashboard and `stacklet explain`, with the same token
 * and visibility rules as the compute API.
 */
export const explainPlugin: ServicePlugin = {
  type: 'stacklet',
  name: 'stacklet',
  prefix: '/stacklet',
  renderError: keystoneError,
  async register(app: FastifyInstance, ctx: CloudContext) {
    app.get<{ Querystring: Static<typeof ExplainQuery> }>('/v1/explain', { schema: { querystring: ExplainQuery } }, async (req) => {
      const auth = requireProjectRole(req.auth, 'read');
      const q = req.query;
      if (q.protocol !== 'icmp' && q.port === undefined) throw badRequest(`Give the ${q.protocol} port to check, e.g. port=22.`);
      if (q.protocol === 'icmp' && q.port !== undefined) throw badRequest('ICMP has no port: leave port out.');
      const from = q.from ?? 'host';
      if (from === q.server) throw badRequest('The source and the target are the same instance.');
      const probe: Probe = q.protocol === 'icmp' ? { protocol: 'icmp' } : { protocol: q.protocol, port: q.port ?? 0 };
      const world = await loadWorld(ctx.store.db, serversVia(app, auth), q.server, from);
      return explain(world, probe);
    });
  },
};
