import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CloudError } from '../../core/errors.js';
import { imageService } from '../../core/image/index.js';
import { PATCH_MEDIA_TYPES } from '../../core/image/json-patch.js';
import type { CloudContext, ServicePlugin } from '../context.js';
import { glanceError } from '../errors.js';
import { registerDataRoutes } from './data.routes.js';
import { registerImageRoutes } from './images.routes.js';
import { registerMemberRoutes } from './members.routes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The handler reads the raw request body itself (image uploads). */
    streamBody?: boolean;
  }
}

/** Glance's version list: v2.15 current, the earlier v2 minors supported, all at /v2/. */
export function imageVersions(base: string) {
  const href = `${base}/v2/`;
  const ids = ['2.15', '2.9', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'];
  return {
    versions: ids.map((v, i) => ({ id: `v${v}`, status: i === 0 ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href }] })),
  };
}

function streamOrRefuse(req: FastifyRequest, _payload: unknown, done: (err: Error | null, body?: unknown) => void): void {
  if (req.routeOptions.config.streamBody === true) {
    done(null);
    return;
  }
  const what = req.method === 'PATCH' ? Object.keys(PATCH_MEDIA_TYPES).join(' or ') : 'application/json';
  done(new CloudError('UnsupportedMediaType', `Unsupported Content-Type ${req.headers['content-type'] ?? '(none)'} for ${req.method} ${req.url.split('?')[0] ?? ''}: send ${what}.`));
}

export const imagePlugin: ServicePlugin = {
  type: 'image',
  name: 'glance',
  prefix: '/image',
  catalogPath: '/image',
  renderError: glanceError,
  async register(app: FastifyInstance, ctx: CloudContext) {
    const base = `${ctx.baseUrl}/image`;
    await imageService(ctx).recover();

    // Uploads are read by their handler as a stream; nothing else takes a non-JSON body.
    app.addContentTypeParser('application/octet-stream', streamOrRefuse);
    app.addContentTypeParser('*', streamOrRefuse);
    const json = app.getDefaultJsonParser('error', 'error');
    app.addContentTypeParser(Object.keys(PATCH_MEDIA_TYPES), { parseAs: 'string' }, (req, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') {
        done(new CloudError('BadRequest', 'Body expected in request: a JSON array of patch operations, e.g. [{"op": "replace", "path": "/name", "value": "new"}].'));
        return;
      }
      json(req, text, done);
    });

    app.get('/', { config: { public: true } }, async (_req, reply) => reply.code(300).send(imageVersions(base)));
    app.get('/versions', { config: { public: true } }, async () => imageVersions(base));
    app.get('/v2', { config: { public: true } }, async () => imageVersions(base));

    registerImageRoutes(app, ctx);
    registerMemberRoutes(app, ctx);
    registerDataRoutes(app, ctx);
  },
};
