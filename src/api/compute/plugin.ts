import type { FastifyInstance } from 'fastify';
import { computeCoreOf } from '../../core/compute/index.js';
import { MAX_MICROVERSION, MIN_MICROVERSION, negotiate, versionString } from '../../core/compute/microversion.js';
import type { CloudError } from '../../core/errors.js';
import type { CloudContext, ServicePlugin } from '../context.js';
import type { ErrorRenderer } from '../errors.js';
import type { Roots } from './common.js';
import { registerAdminRoutes } from './admin.routes.js';
import { registerFlavorRoutes } from './flavors.routes.js';
import { registerKeypairRoutes } from './keypairs.routes.js';
import { registerLimitRoutes } from './limits.routes.js';
import { registerProxyRoutes } from './proxies.routes.js';
import { registerServerActionRoutes } from './actions.routes.js';
import { registerServerGroupRoutes } from './groups.routes.js';
import { registerServerRoutes } from './servers.routes.js';
import { registerServerSubRoutes } from './server-sub.routes.js';

/** Nova's fault names by status (nova/api/openstack/wsgi.py); others are computeFault. */
const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** Nova's error body: {"itemNotFound": {"code": 404, "message": "..."}}. */
export const computeError: ErrorRenderer = (e: CloudError) => ({
  [FAULT_NAMES[e.status] ?? 'computeFault']: { code: e.status, message: e.message },
});

const UPDATED_V21 = '2013-07-23T11:33:21Z';

/** The version documents keystoneauth and novaclient read for discovery. */
export function computeVersions(base: string) {
  return {
    versions: [
      {
        id: 'v2.0',
        status: 'SUPPORTED',
        version: '',
        min_version: '',
        updated: '2011-01-21T11:33:21Z',
        links: [{ rel: 'self', href: `${base}/v2/` }],
      },
      {
        id: 'v2.1',
        status: 'CURRENT',
        version: versionString(MAX_MICROVERSION),
        min_version: versionString(MIN_MICROVERSION),
        updated: UPDATED_V21,
        links: [{ rel: 'self', href: `${base}/v2.1/` }],
      },
    ],
  };
}

export function computeVersion(base: string) {
  return {
    version: {
      id: 'v2.1',
      status: 'CURRENT',
      version: versionString(MAX_MICROVERSION),
      min_version: versionString(MIN_MICROVERSION),
      updated: UPDATED_V21,
      links: [
        { rel: 'self', href: `${base}/v2.1/` },
        { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
      ],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
    },
  };
}

export const computePlugin: ServicePlugin = {
  type: 'compute',
  name: 'nova',
  prefix: '/compute',
  catalogPath: '/compute/v2.1',
  renderError: computeError,
  async register(app: FastifyInstance, ctx: CloudContext) {
    const base = `${ctx.baseUrl}/compute`;
    const roots: Roots = { api: `${base}/v2.1`, bookmark: base };
    const core = computeCoreOf(ctx);

    // Every route but the root version list is under microversion control (Nova's Versions resource is not).
    app.addHook('onRequest', async (req) => {
      const path = req.url.split('?')[0] ?? '';
      if (path === '/compute' || path === '/compute/') return;
      req.microversion = negotiate(req.headers['openstack-api-version'], req.headers['x-openstack-nova-api-version']);
    });
    app.addHook('onSend', async (req, reply) => {
      void reply.header('x-compute-request-id', req.id);
      const v = req.microversion;
      if (v) {
        void reply.header('openstack-api-version', `compute ${versionString(v)}`);
        void reply.header('x-openstack-nova-api-version', versionString(v));
        void reply.header('vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
      }
    });

    app.get('/', { config: { public: true } }, async () => computeVersions(base));
    app.get('/v2.1', { config: { public: true } }, async () => computeVersion(base));

    registerFlavorRoutes(app, core, roots, async (id) => (await ctx.identity.repo.getProject(id)) !== undefined);
    registerKeypairRoutes(app, core, roots);
    registerServerRoutes(app, core, roots);
    registerServerActionRoutes(app, core, roots, ctx.baseUrl);
    registerServerSubRoutes(app, core, roots);
    registerServerGroupRoutes(app, core);
    registerLimitRoutes(app, core);
    registerAdminRoutes(app, core, roots);
    registerProxyRoutes(app, core);
  },
};
