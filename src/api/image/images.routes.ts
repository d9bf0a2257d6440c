import type { FastifyInstance } from 'fastify';
import { badRequest, CloudError } from '../../core/errors.js';
import { imageService } from '../../core/image/index.js';
import { parsePatch, patchDialect } from '../../core/image/json-patch.js';
import { parseListQuery, type RawQuery } from '../../core/image/list-query.js';
import type { CloudContext } from '../context.js';
import { jsonObject, rawQuery } from './common.js';
import { imageSchema, imagesSchema, memberSchema, membersSchema } from './json-schemas.js';
import { imageListView, imageView } from './views.js';

type IdParams = { Params: { id: string } };

/** Images: create, list, show, patch, delete; tags; deactivate/reactivate; the schemas clients read. */
export function registerImageRoutes(app: FastifyInstance, ctx: CloudContext): void {
  const svc = imageService(ctx);

  app.get<{ Querystring: RawQuery }>('/v2/images', async (req) => {
    const page = await svc.list(req.auth, parseListQuery(req.query));
    return imageListView(page.images, rawQuery(req), page.nextMarker);
  });

  app.post('/v2/images', async (req, reply) => {
    const body = jsonObject(req, '{"name": "cirros", "disk_format": "qcow2", "container_format": "bare"}');
    const image = await svc.create(req.auth, body);
    return reply.code(201).header('location', `${ctx.baseUrl}/image/v2/images/${image.id}`).send(imageView(image));
  });

  app.get<IdParams>('/v2/images/:id', async (req) => imageView(await svc.show(req.auth, req.params.id)));

  app.patch<IdParams>('/v2/images/:id', async (req) => {
    const dialect = patchDialect(req.headers['content-type']);
    if (req.body === undefined || req.body === null) throw badRequest('Body expected in request: a JSON array of patch operations.');
    const ops = parsePatch(req.body, dialect);
    return imageView(await svc.update(req.auth, req.params.id, ops, dialect));
  });

  app.delete<IdParams>('/v2/images/:id', async (req, reply) => {
    await svc.delete(req.auth, req.params.id);
    return reply.code(204).send();
  });

  app.post<IdParams>('/v2/images/:id/actions/deactivate', async (req, reply) => {
    await svc.setActivation(req.auth, req.params.id, 'deactivate');
    return reply.code(204).send();
  });
  app.post<IdParams>('/v2/images/:id/actions/reactivate', async (req, reply) => {
    await svc.setActivation(req.auth, req.params.id, 'reactivate');
    return reply.code(204).send();
  });

  app.put<{ Params: { id: string; tag: string } }>('/v2/images/:id/tags/:tag', async (req, reply) => {
    await svc.addTag(req.auth, req.params.id, req.params.tag);
    return reply.code(204).send();
  });
  app.delete<{ Params: { id: string; tag: string } }>('/v2/images/:id/tags/:tag', async (req, reply) => {
    await svc.removeTag(req.auth, req.params.id, req.params.tag);
    return reply.code(204).send();
  });

  // Interoperable import is not offered: uploads go through PUT /file.
  app.get('/v2/info/import', async () => ({
    'import-methods': { description: 'Import methods available.', type: 'array', value: [] },
  }));
  const noImport = async () => {
    throw new CloudError('NotFound', 'Image import is not enabled on this cloud; upload the data with PUT /v2/images/{id}/file (openstack image create --file).');
  };
  app.put('/v2/images/:id/stage', noImport);
  app.post('/v2/images/:id/import', noImport);

  app.get('/v2/schemas/image', async () => imageSchema());
  app.get('/v2/schemas/images', async () => imagesSchema());
  app.get('/v2/schemas/member', async () => memberSchema());
  app.get('/v2/schemas/members', async () => membersSchema());
}
