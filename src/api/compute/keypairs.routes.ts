import type { FastifyInstance } from 'fastify';
import { atLeast } from '../../core/compute/microversion.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { badRequest } from '../../core/errors.js';
import { requireAuth } from '../../core/policy.js';
import type { KeypairRow } from '../../store/compute/catalog.repo.js';
import { mvOf, nextLinks, novaTime, pagination, qOne, type Query, type Roots } from './common.js';
import { keypairCreateSchema } from './schemas.js';
import { checkBody } from './validate.js';

/** os-keypairs: per-user SSH keys; generated private keys are returned once. */

type Name = { name: string };

export function registerKeypairRoutes(app: FastifyInstance, core: ComputeCore, roots: Roots): void {
  const svc = core.keypairs;
  const userParam = (q: Query, v: ReturnType<typeof mvOf>): string | undefined => {
    const u = qOne(q, 'user_id');
    if (u !== undefined && !atLeast(v, 10)) return undefined;
    return u;
  };

  app.get<{ Querystring: Query }>('/v2.1/os-keypairs', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    let rows: KeypairRow[] = await svc.list(auth, userParam(req.query, v));
    let next;
    if (atLeast(v, 35)) {
      const { limit, marker } = pagination(req.query);
      if (marker !== undefined) {
        const at = rows.findIndex((k) => k.name === marker);
        if (at < 0) throw badRequest(`marker [${marker}] not found`);
        rows = rows.slice(at + 1);
      }
      rows = rows.slice(0, limit);
      next = qOne(req.query, 'limit') !== undefined ? nextLinks(req, roots.api, 'os-keypairs', rows.length, limit, rows[rows.length - 1]?.name) : undefined;
    }
    return {
      keypairs: rows.map((k) => ({
        keypair: { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, ...(atLeast(v, 2) ? { type: k.type } : {}) },
      })),
      ...(next ? { keypairs_links: next } : {}),
    };
  });

  app.get<{ Params: Name; Querystring: Query }>('/v2.1/os-keypairs/:name', async (req) => {
    const v = mvOf(req);
    const k = await svc.get(requireAuth(req.auth), req.params.name, userParam(req.query, v));
    return {
      keypair: {
        id: k.id,
        name: k.name,
        public_key: k.public_key,
        fingerprint: k.fingerprint,
        user_id: k.user_id,
        created_at: novaTime(k.created_at),
        deleted: false,
        deleted_at: null,
        updated_at: null,
        ...(atLeast(v, 2) ? { type: k.type } : {}),
      },
    };
  });

  app.post('/v2.1/os-keypairs', async (req, reply) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const b = checkBody<{ keypair: { name: string; public_key?: string; type?: string; user_id?: string } }>(keypairCreateSchema(v), req.body).keypair;
    const k = await svc.create(auth, { name: b.name, publicKey: b.public_key, type: b.type, userId: b.user_id });
    const body = {
      keypair: {
        name: k.name,
        public_key: k.public_key,
        fingerprint: k.fingerprint,
        user_id: k.user_id,
        ...(k.privateKey !== undefined ? { private_key: k.privateKey } : {}),
        ...(atLeast(v, 2) ? { type: k.type } : {}),
      },
    };
    return reply.code(atLeast(v, 2) ? 201 : 200).send(body);
  });

  app.delete<{ Params: Name; Querystring: Query }>('/v2.1/os-keypairs/:name', async (req, reply) => {
    const v = mvOf(req);
    await svc.delete(requireAuth(req.auth), req.params.name, userParam(req.query, v));
    return reply.code(atLeast(v, 2) ? 204 : 202).send();
  });
}
