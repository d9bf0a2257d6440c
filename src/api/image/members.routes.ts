import type { FastifyInstance } from 'fastify';
import { imageService } from '../../core/image/index.js';
import type { CloudContext } from '../context.js';
import { jsonObject } from './common.js';
import { memberView } from './views.js';

type P = { Params: { id: string; member: string } };

/** Image members: the owner shares a shared image with projects; each project accepts or rejects. */
export function registerMemberRoutes(app: FastifyInstance, ctx: CloudContext): void {
  const members = imageService(ctx).members;

  app.get<{ Params: { id: string } }>('/v2/images/:id/members', async (req) => ({
    members: (await members.list(req.auth, req.params.id)).map(memberView),
    schema: '/v2/schemas/members',
  }));

  app.post<{ Params: { id: string } }>('/v2/images/:id/members', async (req) => {
    const body = jsonObject(req, '{"member": "<project id>"}');
    return memberView(await members.add(req.auth, req.params.id, body['member']));
  });

  app.get<P>('/v2/images/:id/members/:member', async (req) => memberView(await members.get(req.auth, req.params.id, req.params.member)));

  app.put<P>('/v2/images/:id/members/:member', async (req) => {
    const body = jsonObject(req, '{"status": "accepted"}');
    return memberView(await members.setStatus(req.auth, req.params.id, req.params.member, body['status']));
  });

  app.delete<P>('/v2/images/:id/members/:member', async (req, reply) => {
    await members.remove(req.auth, req.params.id, req.params.member);
    return reply.code(204).send();
  });
}
