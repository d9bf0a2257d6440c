import type { FastifyInstance } from 'fastify';
import { CloudError } from '../../core/errors.js';
import { imageService } from '../../core/image/index.js';
import type { CloudContext } from '../context.js';
import { mediaType } from './common.js';

type IdParams = { Params: { id: string } };

/**
 * Image data: PUT streams the request body to disk (never buffered: the
 * route's content-type parser leaves the body unread), GET streams the file
 * back, whole or one byte range.
 */
export function registerDataRoutes(app: FastifyInstance, ctx: CloudContext): void {
  const svc = imageService(ctx);

  app.put<IdParams>('/v2/images/:id/file', { config: { streamBody: true } }, async (req, reply) => {
    const lengthHeader = req.headers['content-length'];
    const contentLength = lengthHeader === undefined || req.headers['transfer-encoding'] !== undefined ? undefined : Number(lengthHeader);
    try {
      if (mediaType(req) !== 'application/octet-stream') {
        throw new CloudError('UnsupportedMediaType', `Image data is uploaded with Content-Type application/octet-stream (got ${mediaType(req) || 'none'}).`);
      }
      await svc.upload(req.auth, req.params.id, req.raw, contentLength);
    } catch (err) {
      // A body never touched is drained by Node after the answer, so the client can finish sending and read it;
      // one abandoned half-way cannot be resynchronised, so that connection ends with the answer.
      if (!req.raw.complete && req.raw.readableDidRead) void reply.header('connection', 'close');
      throw err;
    }
    return reply.code(204).send();
  });

  app.get<IdParams>('/v2/images/:id/file', async (req, reply) => {
    const d = await svc.download(req.auth, req.params.id, req.headers.range);
    if (d.kind === 'empty') return reply.code(204).send();
    const range = d.range;
    const start = range?.start ?? 0;
    const end = range?.end ?? d.size - 1;
    void reply.header('content-type', 'application/octet-stream').header('accept-ranges', 'bytes');
    if (range) void reply.code(206).header('content-range', `bytes ${start}-${end}/${d.size}`);
    else if (d.image.checksum) void reply.header('content-md5', d.image.checksum);
    void reply.header('content-length', String(end - start + 1));
    if (d.size === 0) return reply.send(Buffer.alloc(0));
    const stream = await d.open(start, end);
    if (!stream) return reply.code(204).removeHeader('content-length').send();
    return reply.send(stream);
  });
}
