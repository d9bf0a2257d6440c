import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { member, reader } from '../../core/network/access.js';
import type { NetCore } from '../../core/network/core.js';
import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork } from '../../core/network/networks.js';
import { createSubnet, deleteSubnet, getSubnet, listSubnets, updateSubnet } from '../../core/network/subnets.js';
import { checkTags } from '../../core/network/tags.js';
import { ifMatchRevision, listBody, showBody } from './common.js';
import { sqlFilter, type Query } from './query.js';
import { IdParam, NetworkCreate, NetworkUpdate, SubnetCreate, SubnetUpdate } from './schemas.js';
import { networkView, subnetView } from './views.js';

type Id = Static<typeof IdParam>;

export function registerNetworkRoutes(app: FastifyInstance, core: NetCore, base: string): void {
  app.get<{ Querystring: Query }>('/v2.0/networks', async (req) => {
    const c = reader(req.auth);
    const f = { ids: sqlFilter(req.query, 'id'), names: sqlFilter(req.query, 'name') };
    const models = await listNetworks(core, c, stripUndefined(f));
    return listBody('networks', models.map((m) => networkView(c, m)), req.query, `${base}/v2.0/networks`);
  });

  app.get<{ Params: Id; Querystring: Query }>('/v2.0/networks/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('network', networkView(c, await getNetwork(core, c, req.params.id)), req.query);
  });

  app.post<{ Body: Static<typeof NetworkCreate> }>('/v2.0/networks', { schema: { body: NetworkCreate } }, async (req, reply) => {
    const c = member(req.auth);
    const b = req.body.network;
    if (b.tags) b.tags = checkTags(b.tags);
    return reply.code(201).send({ network: networkView(c, await createNetwork(core, c, b)) });
  });

  app.put<{ Params: Id; Body: Static<typeof NetworkUpdate> }>(
    '/v2.0/networks/:id',
    { schema: { params: IdParam, body: NetworkUpdate } },
    async (req) => {
      const c = member(req.auth);
      return { network: networkView(c, await updateNetwork(core, c, req.params.id, req.body.network, ifMatchRevision(req))) };
    },
  );

  app.delete<{ Params: Id }>('/v2.0/networks/:id', { schema: { params: IdParam } }, async (req, reply) => {
    await deleteNetwork(core, member(req.auth), req.params.id, ifMatchRevision(req));
    return reply.code(204).send();
  });

  // --- subnets
  app.get<{ Querystring: Query }>('/v2.0/subnets', async (req) => {
    const c = reader(req.auth);
    const f = { ids: sqlFilter(req.query, 'id'), names: sqlFilter(req.query, 'name'), networkIds: sqlFilter(req.query, 'network_id') };
    const models = await listSubnets(core, c, stripUndefined(f));
    return listBody('subnets', models.map(subnetView), req.query, `${base}/v2.0/subnets`);
  });

  app.get<{ Params: Id; Querystring: Query }>('/v2.0/subnets/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('subnet', subnetView(await getSubnet(core, c, req.params.id)), req.query);
  });

  app.post<{ Body: Static<typeof SubnetCreate> }>('/v2.0/subnets', { schema: { body: SubnetCreate } }, async (req, reply) => {
    const c = member(req.auth);
    const b = req.body.subnet;
    if (b.tags) b.tags = checkTags(b.tags);
    return reply.code(201).send({ subnet: subnetView(await createSubnet(core, c, { ...b, ip_version: b.ip_version ?? 4 })) });
  });

  app.put<{ Params: Id; Body: Static<typeof SubnetUpdate> }>(
    '/v2.0/subnets/:id',
    { schema: { params: IdParam, body: SubnetUpdate } },
    async (req) => {
      const c = member(req.auth);
      return { subnet: subnetView(await updateSubnet(core, c, req.params.id, req.body.subnet, ifMatchRevision(req))) };
    },
  );

  app.delete<{ Params: Id }>('/v2.0/subnets/:id', { schema: { params: IdParam } }, async (req, reply) => {
    await deleteSubnet(core, member(req.auth), req.params.id, ifMatchRevision(req));
    return reply.code(204).send();
  });
}

/** Drops absent filters so they do not reach the repository as `undefined` keys. */
export function stripUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
