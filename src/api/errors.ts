import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CloudError, type ErrorCode } from '../core/errors.js';

/** How one OpenStack service writes an error body. */
export type ErrorRenderer = (err: CloudError) => unknown;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export const titleOf = (status: number): string => TITLES[status] ?? 'Error';

/** Keystone: {"error": {"code", "title", "message"}} */
export const keystoneError: ErrorRenderer = (e) => ({
  error: { code: e.status, title: titleOf(e.status), message: e.message },
});

const NOVA_KEYS: Partial<Record<ErrorCode, string>> = {
  BadRequest: 'badRequest',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'itemNotFound',
  MethodNotAllowed: 'methodNotAllowed',
  NotAcceptable: 'notAcceptable',
  Conflict: 'conflictingRequest',
  OverLimit: 'overLimit',
  PayloadTooLarge: 'overLimit',
  UnsupportedMediaType: 'mediaTypeNotSupported',
  NotImplemented: 'notImplemented',
  ServiceUnavailable: 'serviceUnavailable',
};

/** Nova (and Cinder): {"itemNotFound": {"code", "message"}} */
export const novaError: ErrorRenderer = (e) => ({
  [e.type ?? NOVA_KEYS[e.code] ?? 'computeFault']: { code: e.status, message: e.message },
});

const NEUTRON_TYPES: Partial<Record<ErrorCode, string>> = {
  BadRequest: 'HTTPBadRequest',
  Unauthorized: 'HTTPUnauthorized',
  Forbidden: 'HTTPForbidden',
  NotFound: 'HTTPNotFound',
  MethodNotAllowed: 'HTTPMethodNotAllowed',
  Conflict: 'HTTPConflict',
};

/** Neutron: {"NeutronError": {"type", "message", "detail"}} */
export const neutronError: ErrorRenderer = (e) => ({
  NeutronError: { type: e.type ?? NEUTRON_TYPES[e.code] ?? 'HTTPInternalServerError', message: e.message, detail: e.detail ?? '' },
});

/**
 * Glance answers errors as webob renders them for a JSON client: a flat
 * {"message", "code": "404 Not Found", "title"}; openstacksdk (and so the
 * CLI) prints `message`.
 */
export const glanceError: ErrorRenderer = (e) => ({
  message: e.message,
  code: `${e.status} ${titleOf(e.status)}`,
  title: titleOf(e.status),
});

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
};

/**
 * Turns anything thrown in a handler into a CloudError. Fastify's own 4xx
 * (bad JSON, wrong content type, too large, schema) keep their status with a
 * message a person can act on; anything else is an internal error whose
 * details go to the log, never to the client.
 */
export function toCloudError(err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  const fe = err as Partial<FastifyError> & { validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[] };
  if (fe.validation && fe.validation.length > 0) {
    const v = fe.validation[0];
    const where = v?.instancePath ? v.instancePath.replace(/^\//, '').replaceAll('/', '.') : fe.validationContext ?? 'body';
    let what = v?.message ?? 'is invalid';
    const extra = v?.params?.['additionalProperty'];
    if (typeof extra === 'string') what = `has an unexpected attribute "${extra}"`;
    const allowed = v?.params?.['allowedValues'];
    if (Array.isArray(allowed)) what = `must be one of: ${allowed.join(', ')}`;
    return new CloudError('BadRequest', `Invalid input for ${fe.validationContext ?? 'body'} field '${where}': ${what}.`);
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    switch (fe.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return new CloudError('BadRequest', `Malformed request body: ${fe.message ?? 'not valid JSON'}. Send a JSON object.`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return new CloudError('UnsupportedMediaType', `${fe.message ?? 'Unsupported content type'}; send application/json.`);
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return new CloudError('PayloadTooLarge', 'The request body is too large.');
      default: {
        const code = STATUS_CODES[status] ?? 'BadRequest';
        return new CloudError(code, fe.message ?? titleOf(status), { status });
      }
    }
  }
  return new CloudError('Internal', 'The server failed to handle the request; the log has details under this request id.', { cause: err });
}

/** Installs a service's error and not-found handlers on its (encapsulated) Fastify scope. */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown, render: ErrorRenderer): FastifyReply {
  const ce = toCloudError(err);
  if (ce.status >= 500) {
    req.log.error({ err: ce.cause ?? err, reqId: req.id }, 'request failed');
  } else {
    req.log.info({ status: ce.status, msg: ce.message }, 'client error');
  }
  if (ce.headers) void reply.headers(ce.headers);
  const body = render(ce);
  return reply.code(ce.status).type('application/json').send(body);
}
