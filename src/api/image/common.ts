import type { FastifyRequest } from 'fastify';
import { CloudError } from '../../core/errors.js';

/** The query string as sent (repeated keys kept), for `first`/`next` links. */
export function rawQuery(req: FastifyRequest): string {
  const i = req.url.indexOf('?');
  return i < 0 ? '' : req.url.slice(i + 1);
}

/** The media type of the request, without parameters, lower case. */
export function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Requires a JSON object body (POST/PUT bodies of the image API). */
export function jsonObject(req: FastifyRequest, example: string): Record<string, unknown> {
  const b: unknown = req.body;
  if (mediaType(req) !== 'application/json') {
    throw new CloudError('UnsupportedMediaType', `Send the body as JSON with Content-Type application/json, e.g. ${example}.`);
  }
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new CloudError('BadRequest', `The body must be a JSON object, e.g. ${example}.`);
  return b as Record<string, unknown>;
}
