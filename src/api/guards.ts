import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CloudError } from '../core/errors.js';
import type { ServicePlugin } from './context.js';
import { sendError, type ErrorRenderer } from './errors.js';

/**
 * Limits on what a client can send that the framework would otherwise turn
 * into a 500 or a non-OpenStack body.
 */

/** Deeper than any OpenStack body; deep enough that JSON.stringify of it cannot exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

/** True when a parsed JSON body nests objects/arrays deeper than `max` (walked without recursion). */
export function jsonDepthExceeds(body: unknown, max = MAX_JSON_DEPTH): boolean {
  if (typeof body !== 'object' || body === null) return false;
  // Only parsed JSON: Buffers and streams (image uploads) are left alone.
  const proto = Object.getPrototypeOf(body) as unknown;
  if (!Array.isArray(body) && proto !== Object.prototype && proto !== null) return false;
  const stack: [unknown, number][] = [[body, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (depth > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** preValidation hook: a too-deep JSON body is a 400, before validation or a handler walks it. */
export async function rejectDeepJson(req: FastifyRequest): Promise<void> {
  if (jsonDepthExceeds(req.body)) {
    throw new CloudError('BadRequest', `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels; no OpenStack request needs that.`);
  }
}

/**
 * Fastify answers a URL it cannot decode, or a path segment over
 * maxParamLength, before any route or hook runs; this gives those answers
 * the owning service's error body and a request id like every other.
 */
export function frameworkErrorHandler(plugins: ServicePlugin[], fallback: ErrorRenderer) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    const path = req.url.split('?')[0] ?? '';
    const plugin = plugins.find((p) => path === p.prefix || path.startsWith(`${p.prefix}/`));
    const message =
      err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'A path segment of the URL is too long to name anything here.'
        : 'The URL is not valid: it has a malformed percent-encoding.';
    void reply.header('x-openstack-request-id', req.id);
    sendError(req, reply, new CloudError('BadRequest', message), plugin?.renderError ?? fallback);
  };
}
