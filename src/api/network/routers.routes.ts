import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { member, reader } from '../../core/network/access.js';
import type { NetCore } from '../../core/network/core.js';
import { createFloatingIp, deleteFloatingIp, getFloatingIp, listFloatingIps, updateFloatingIp } from '../../core/network/floatingips.js';
import {
  addInterface,
  changeExtraRoutes,
  createRouter,
  deleteRouter,
  getRouter,
  listRouters,
  removeInterface,
  updateRouter,
} from '../../core/network/routers.js';
import { checkTags } from '../../core/network/tags.js';
import { ifMatchRevision, listBody, showBody } from './common.js';
import { stripUndefined } from './networks.routes.js';
import { sqlFilter, type Query } from './query.js';
import { ExtraRoutes, FloatingIpCreate, FloatingIpUpdate, IdParam, RouterCreate, RouterInterface, RouterUpdate } from './schemas.js';
import { floatingIpView, routerView } from './views.js';

type Id = Static<typeof IdParam>;

export function registerRouterRoutes(app: FastifyInstance, core: NetCore, base: string): void {
  const az = core.settings.availabilityZone;

  app.get<{ Querystring: Query }>('/v2.0/routers', async (req) => {
    const c = reader(req.auth);
    const models = await listRouters(core, c, stripUndefined({ ids: sqlFilter(req.query, 'id'), names: sqlFilter(req.query, 'name') }));
    return listBody('routers', models.map((m) => routerView(c, m, az)), req.query, `${base}/v2.0/routers`);
  });

  app.get<{ Params: Id; Querystring: Query }>('/v2.0/routers/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('router', routerView(c, await getRouter(core, c, req.params.id), az), req.query);
  });

  app.post<{ Body: Static<typeof RouterCreate> }>('/v2.0/routers', { schema: { body: RouterCreate } }, async (req, reply) => {
    const c = member(req.auth);
    const b = req.body.router;
    if (b.tags) b.tags = checkTags(b.tags);
    return reply.code(201).send({ router: routerView(c, await createRouter(core, c, b), az) });
  });

  app.put<{ Params: Id; Body: Static<typeof RouterUpdate> }>(
    '/v2.0/routers/:id',
    { schema: { params: IdParam, body: RouterUpdate } },
    async (req) => {
      const c = member(req.auth);
      return { router: routerView(c, await updateRouter(core, c, req.params.id, req.body.router, ifMatchRevision(req)), az) };
    },
  );

  app.delete<{ Params: Id }>('/v2.0/routers/:id', { schema: { params: IdParam } }, async (req, reply) => {
    await deleteRouter(core, member(req.auth), req.params.id, ifMatchRevision(req));
    return reply.code(204).send();
  });

  app.put<{ Params: Id; Body: Static<typeof RouterInterface> }>(
    '/v2.0/routers/:id/add_router_interface',
    { schema: { params: IdParam, body: RouterInterface } },
    async (req) => addInterface(core, member(req.auth), req.params.id, req.body),
  );

  app.put<{ Params: Id; Body: Static<typeof RouterInterface> }>(
    '/v2.0/routers/:id/remove_router_interface',
    { schema: { params: IdParam, body: RouterInterface } },
    async (req) => removeInterface(core, member(req.auth), req.params.id, req.body),
  );

  for (const [action, add] of [['add_extraroutes', true], ['remove_extraroutes', false]] as const) {
    app.put<{ Params: Id; Body: Static<typeof ExtraRoutes> }>(
      `/v2.0/routers/:id/${action}`,
      { schema: { params: IdParam, body: ExtraRoutes } },
      async (req) => {
        const c = member(req.auth);
        return { router: routerView(c, await changeExtraRoutes(core, c, req.params.id, req.body.router.routes, add), az) };
      },
    );
  }

  // --- floating IPs
  app.get<{ Querystring: Query }>('/v2.0/floatingips', async (req) => {
    const c = reader(req.auth);
    const q = req.query;
    const f = { ids: sqlFilter(q, 'id'), routerIds: sqlFilter(q, 'router_id'), portIds: sqlFilter(q, 'port_id'), networkIds: sqlFilter(q, 'floating_network_id') };
    const models = await listFloatingIps(core, c, stripUndefined(f));
    return listBody('floatingips', models.map(floatingIpView), q, `${base}/v2.0/floatingips`);
  });

  app.get<{ Params: Id; Querystring: Query }>('/v2.0/floatingips/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('floatingip', floatingIpView(await getFloatingIp(core, c, req.params.id)), req.query);
  });

  app.post<{ Body: Static<typeof FloatingIpCreate> }>('/v2.0/floatingips', { schema: { body: FloatingIpCreate } }, async (req, reply) => {
    const c = member(req.auth);
    const b = req.body.floatingip;
    if (b.tags) b.tags = checkTags(b.tags);
    return reply.code(201).send({ floatingip: floatingIpView(await createFloatingIp(core, c, b)) });
  });

  app.put<{ Params: Id; Body: Static<typeof FloatingIpUpdate> }>(
    '/v2.0/floatingips/:id',
    { schema: { params: IdParam, body: FloatingIpUpdate } },
    async (req) => {
      const c = member(req.auth);
      return { floatingip: floatingIpView(await updateFloatingIp(core, c, req.params.id, req.body.floatingip, ifMatchRevision(req))) };
    },
  );

  app.delete<{ Params: Id }>('/v2.0/floatingips/:id', { schema: { params: IdParam } }, async (req, reply) => {
    await deleteFloatingIp(core, member(req.auth), req.params.id, ifMatchRevision(req));
    return reply.code(204).send();
  });
}
