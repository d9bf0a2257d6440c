import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { member, reader } from '../../core/network/access.js';
import type { NetCore } from '../../core/network/core.js';
import { createPort, deletePort, getPort, listPorts, updatePort } from '../../core/network/ports.js';
import { checkTags } from '../../core/network/tags.js';
import { ifMatchRevision, listBody, showBody } from './common.js';
import { stripUndefined } from './networks.routes.js';
import { sqlFilter, type Query } from './query.js';
import { IdParam, PortCreate, PortUpdate } from './schemas.js';
import { portView } from './views.js';

type Id = Static<typeof IdParam>;

export function registerPortRoutes(app: FastifyInstance, core: NetCore, base: string): void {
  app.get<{ Querystring: Query }>('/v2.0/ports', async (req) => {
    const c = reader(req.auth);
    const q = req.query;
    const f = {
      ids: sqlFilter(q, 'id'),
      names: sqlFilter(q, 'name'),
      networkIds: sqlFilter(q, 'network_id'),
      deviceIds: sqlFilter(q, 'device_id'),
      deviceOwners: sqlFilter(q, 'device_owner'),
    };
    const models = await listPorts(core, c, stripUndefined(f));
    return listBody('ports', models.map((m) => portView(c, m)), q, `${base}/v2.0/ports`);
  });

  app.get<{ Params: Id; Querystring: Query }>('/v2.0/ports/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('port', portView(c, await getPort(core, c, req.params.id)), req.query);
  });

  app.post<{ Body: Static<typeof PortCreate> }>('/v2.0/ports', { schema: { body: PortCreate } }, async (req, reply) => {
    const c = member(req.auth);
    const b = req.body.port;
    if (b.tags) b.tags = checkTags(b.tags);
    return reply.code(201).send({ port: portView(c, await createPort(core, c, b)) });
  });

  app.put<{ Params: Id; Body: Static<typeof PortUpdate> }>('/v2.0/ports/:id', { schema: { params: IdParam, body: PortUpdate } }, async (req) => {
    const c = member(req.auth);
    return { port: portView(c, await updatePort(core, c, req.params.id, req.body.port, ifMatchRevision(req))) };
  });

  app.delete<{ Params: Id }>('/v2.0/ports/:id', { schema: { params: IdParam } }, async (req, reply) => {
    await deletePort(core, member(req.auth), req.params.id, ifMatchRevision(req));
    return reply.code(204).send();
  });
}
