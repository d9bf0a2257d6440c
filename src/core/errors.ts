/**
 * One error type for the whole cloud. A closed set of codes maps totally onto
 * HTTP statuses; each API service renders the same error in its own
 * OpenStack body (see src/api/errors.ts). Anything that is not a CloudError
 * is a defect and becomes a logged 500 with the request id.
 */

export const ERROR_STATUS = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  Conflict: 409,
  Gone: 410,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  RangeNotSatisfiable: 416,
  OverLimit: 413,
  Internal: 500,
  NotImplemented: 501,
  ServiceUnavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface CloudErrorOptions {
  /**
   * A service-specific error type name. Neutron puts it in
   * `NeutronError.type` (e.g. "IpAddressGenerationFailure") and clients
   * match on it; other services ignore it.
   */
  type?: string;
  /** Extra detail a person can act on (Neutron's `detail`, Nova's fault details). */
  detail?: string;
  /** Overrides the HTTP status of the code (e.g. Nova's quota errors are 403 overLimit). */
  status?: number;
  /** Extra response headers (e.g. Retry-After, Content-Range on 416). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class CloudError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string | undefined;
  readonly detail: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, opts: CloudErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CloudError';
    this.code = code;
    this.status = opts.status ?? ERROR_STATUS[code];
    this.type = opts.type;
    this.detail = opts.detail;
    this.headers = opts.headers;
  }
}

export const badRequest = (message: string, opts?: CloudErrorOptions): CloudError =>
  new CloudError('BadRequest', message, opts);
export const unauthorized = (message: string, opts?: CloudErrorOptions): CloudError =>
  new CloudError('Unauthorized', message, opts);
export const forbidden = (message: string, opts?: CloudErrorOptions): CloudError =>
  new CloudError('Forbidden', message, opts);
export const notFound = (message: string, opts?: CloudErrorOptions): CloudError =>
  new CloudError('NotFound', message, opts);
export const conflict = (message: string, opts?: CloudErrorOptions): CloudError =>
  new CloudError('Conflict', message, opts);

/** True for errors that are the client's fault (4xx). */
export function isClientError(err: unknown): err is CloudError {
  return err instanceof CloudError && err.status >= 400 && err.status < 500;
}
