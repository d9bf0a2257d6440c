import type { FastifyInstance } from 'fastify';
import type { NetCore } from '../../core/network/core.js';
import { networkSettingsFromEnv } from '../../core/network/settings.js';
import { networkStoreOf } from '../../store/network/store.js';
import type { CloudContext, ServicePlugin } from '../context.js';
import { neutronError } from '../errors.js';
import { registerMiscRoutes } from './misc.routes.js';
import { registerNetworkRoutes } from './networks.routes.js';
import { registerPortRoutes } from './ports.routes.js';
import { registerRouterRoutes } from './routers.routes.js';
import { registerSecurityGroupRoutes } from './secgroups.routes.js';

/** Resource collections listed at /v2.0, as Neutron's root document lists them. */
const RESOURCES: [string, string][] = [
  ['network', 'networks'],
  ['subnet', 'subnets'],
  ['port', 'ports'],
  ['router', 'routers'],
  ['floatingip', 'floatingips'],
  ['security_group', 'security-groups'],
  ['security_group_rule', 'security-group-rules'],
  ['quota', 'quotas'],
  ['network_ip_availability', 'network-ip-availabilities'],
  ['availability_zone', 'availability_zones'],
  ['extension', 'extensions'],
];

/** The Neutron core of a running cloud: its store (shared with the reconcilers) and settings. */
export function netCoreOf(ctx: CloudContext): NetCore {
  const store = networkStoreOf(ctx.store.db);
  store.useReadConnection(ctx.store.sqlite.name);
  return { store, settings: networkSettingsFromEnv() };
}

export const networkPlugin: ServicePlugin = {
  type: 'network',
  name: 'neutron',
  prefix: '/network',
  // Unversioned, as Neutron registers it: clients discover v2.0 and append it.
  catalogPath: '/network',
  renderError: neutronError,
  async register(app: FastifyInstance, ctx: CloudContext) {
    const base = `${ctx.baseUrl}/network`;
    const core = netCoreOf(ctx);
    app.addHook('onClose', async () => core.store.closeReadConnection());
    const version = { id: 'v2.0', status: 'CURRENT', links: [{ href: `${base}/v2.0/`, rel: 'self' }] };
    app.get('/', { config: { public: true } }, async () => ({ versions: [version] }));
    app.get('/v2.0', { config: { public: true } }, async () => ({
      resources: RESOURCES.map(([name, collection]) => ({ name, collection, links: [{ href: `${base}/v2.0/${collection}`, rel: 'self' }] })),
    }));
    registerNetworkRoutes(app, core, base);
    registerPortRoutes(app, core, base);
    registerRouterRoutes(app, core, base);
    registerSecurityGroupRoutes(app, core, base);
    registerMiscRoutes(app, core, base);
  },
};
