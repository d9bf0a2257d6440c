import type { CloudCredentials } from './clouds-file.js';

/** An API answered with an error: its status and the message from its body. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[];
}

/**
 * The message of an OpenStack error body, whichever service wrote it:
 * Keystone's {"error": {"message"}}, Nova's {"itemNotFound": {"message"}},
 * Neutron's {"NeutronError": {"message"}}, Glance's plain text.
 */
export function errorMessageOf(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object') {
      for (const v of Object.values(body as Record<string, unknown>)) {
        if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') return (v as { message: string }).message;
      }
      const m = (body as { message?: unknown }).message;
      if (typeof m === 'string') return m;
    }
  } catch {
    // not JSON: the text itself
  }
  const t = text.trim();
  return t ? t.slice(0, 500) : `HTTP ${status}`;
}

/**
 * A small OpenStack client: a password token from Keystone with the
 * cloud's catalog, then JSON requests with that token, as any client makes
 * them (no private way in).
 */
export class CloudClient {
  private constructor(
    readonly token: string,
    private readonly catalog: CatalogEntry[],
    private readonly region: string | undefined,
    /** Where Stacklet serves everything: auth_url without its /identity (Stacklet's own routes live at /stacklet). */
    readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  /** Logs in with the password credentials of a clouds.yaml cloud. */
  static async login(cred: CloudCredentials, timeoutMs = 30_000): Promise<CloudClient> {
    const authUrl = cred.authUrl.replace(/\/+$/, '');
    const v3 = /\/v3$/.test(authUrl) ? authUrl : `${authUrl}/v3`;
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: cred.username, domain: { name: cred.userDomainName }, password: cred.password } } },
        scope: { project: { name: cred.projectName, domain: { name: cred.projectDomainName } } },
      },
    };
    const res = await send(`${v3}/auth/tokens`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }, timeoutMs);
    const text = await res.text();
    if (res.status !== 201) throw new ApiError(res.status, `logging in as ${cred.username} failed: ${errorMessageOf(res.status, text)}`);
    const token = res.headers.get('x-subject-token');
    if (!token) throw new ApiError(res.status, 'Keystone issued no token (no X-Subject-Token header)');
    const catalog = ((JSON.parse(text) as { token?: { catalog?: CatalogEntry[] } }).token?.catalog ?? []) as CatalogEntry[];
    const base = authUrl.replace(/\/v3$/, '').replace(/\/identity$/, '');
    return new CloudClient(token, catalog, cred.regionName, base, timeoutMs);
  }

  /** The public endpoint of a service type in the catalog. */
  endpoint(type: string): string {
    const entry = this.catalog.find((e) => e.type === type);
    const eps = (entry?.endpoints ?? []).filter((e) => e.interface === 'public');
    const ep = eps.find((e) => this.region === undefined || e.region === this.region || e.region_id === this.region) ?? eps[0];
    if (!ep) throw new ApiError(0, `the cloud's catalog has no public ${type} endpoint${this.region ? ` in region ${this.region}` : ''}`);
    return ep.url.replace(/\/+$/, '');
  }

  /** GET a JSON document; an error status becomes an ApiError with the API's own message. */
  async get<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T | undefined; message: string }> {
    const res = await send(url, { headers: { 'x-auth-token': this.token, accept: 'application/json', ...headers } }, this.timeoutMs);
    const text = await res.text();
    if (res.status >= 400) return { status: res.status, body: undefined, message: errorMessageOf(res.status, text) };
    try {
      return { status: res.status, body: JSON.parse(text) as T, message: '' };
    } catch {
      throw new ApiError(res.status, `${url} answered ${res.status} with something that is not JSON`);
    }
  }
}

async function send(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new ApiError(0, `cannot reach ${new URL(url).origin} (${why}): is the cloud up? \`stacklet status\` tells`);
  }
}
