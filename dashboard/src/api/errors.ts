/**
 * An API call that failed, with the message the service gave. Every
 * OpenStack service has its own error body; the dashboard shows the
 * service's own words, never "something went wrong".
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    /** Neutron's error type (e.g. "IpAddressGenerationFailure"), when given. */
    readonly type?: string,
  ) {
    super(message);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stripHtml(text: string): string {
  return text
    .replace(/<head>[\s\S]*?<\/head>/i, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Finds the message in an error body:
 * Keystone {"error": {"message"}}, Nova {"badRequest": {"message"}} (any key),
 * Neutron {"NeutronError": {"message", "type"}}, Glance {"message"} or a
 * plain/HTML text body.
 */
export function parseErrorBody(status: number, text: string): ApiError {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (isRecord(body)) {
    const neutron = body['NeutronError'];
    if (isRecord(neutron) && typeof neutron['message'] === 'string') {
      const detail = typeof neutron['detail'] === 'string' && neutron['detail'] ? ` ${neutron['detail']}` : '';
      return new ApiError(status, `${neutron['message']}${detail}`, typeof neutron['type'] === 'string' ? neutron['type'] : undefined);
    }
    if (typeof body['message'] === 'string') return new ApiError(status, body['message']);
    for (const value of Object.values(body)) {
      if (isRecord(value) && typeof value['message'] === 'string') return new ApiError(status, value['message']);
    }
  }
  const plain = stripHtml(text);
  return new ApiError(status, plain || `The service answered ${status} without a message.`);
}

/** The text to show for anything thrown by an API call. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError) return `Could not reach Stacklet: ${err.message}. Is it running?`;
  if (err instanceof Error) return err.message;
  return String(err);
}
