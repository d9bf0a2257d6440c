import { ApiError, parseErrorBody } from './errors';

/** The services the dashboard talks to, by Keystone catalog type. */
export type ServiceType = 'identity' | 'compute' | 'network' | 'image' | 'stacklet';

export interface Ref {
  id: string;
  name: string;
}

/**
 * A logged-in user, scoped to one project. Held in memory only: a reload
 * asks for the password again, and no token ever reaches localStorage.
 */
export interface Session {
  token: string;
  /** The unscoped token, used to switch projects without asking again. */
  unscopedToken: string;
  user: Ref & { domain: Ref };
  project: Ref & { domain: Ref };
  roles: string[];
  expiresAt: string;
  /** Base URL of each service, from the token's catalog, made same-origin. */
  endpoints: Partial<Record<ServiceType, string>>;
  /** The compute microversion this dashboard speaks to this cloud (min of ours and the cloud's). */
  computeVersion: string;
  projects: Ref[];
}

/** What the dashboard was written against: Nova 2.79 (server shapes with embedded flavors, keypair generation). */
const OUR_COMPUTE_MAX = [2, 79] as const;

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; url: string; region?: string }[];
}

interface TokenBody {
  token: {
    expires_at: string;
    user: Ref & { domain: Ref };
    project?: Ref & { domain: Ref };
    roles?: Ref[];
    catalog?: CatalogEntry[];
  };
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** Raw body (e.g. a JSON-patch string) sent as is. */
  raw?: string;
}

async function call(url: string, token: string | undefined, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (token) headers['x-auth-token'] = token;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const q = Object.entries(opts.query ?? {}).filter((e): e is [string, string | number | boolean] => e[1] !== undefined);
  const qs = q.length ? `?${new URLSearchParams(q.map(([k, v]) => [k, String(v)])).toString()}` : '';
  const res = await fetch(`${url}${qs}`, { method: opts.method ?? 'GET', headers, body, credentials: 'omit', cache: 'no-store' });
  if (!res.ok) throw parseErrorBody(res.status, await res.text());
  return res;
}

async function json<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Identity is reached at this page's own origin: the dashboard is served by the cloud it manages. */
const IDENTITY = `${location.origin}/identity/v3`;

/**
 * Endpoints in the catalog carry the cloud's configured public host; the
 * browser may have reached the cloud by another name. Every endpoint on the
 * same origin as the catalog's identity endpoint is the same server, so it is
 * rewritten to this page's origin (no cross-origin calls, no CORS needed).
 */
function endpointsOf(catalog: CatalogEntry[]): Partial<Record<ServiceType, string>> {
  const pick = (type: string) => catalog.find((c) => c.type === type)?.endpoints.find((e) => e.interface === 'public')?.url;
  const identity = pick('identity');
  const cloudOrigin = identity ? new URL(identity).origin : location.origin;
  const local = (url: string) => {
    const u = new URL(url);
    return u.origin === cloudOrigin ? `${location.origin}${u.pathname.replace(/\/$/, '')}` : url.replace(/\/$/, '');
  };
  const out: Partial<Record<ServiceType, string>> = { identity: `${location.origin}/identity/v3`, stacklet: `${location.origin}/stacklet/v1` };
  const compute = pick('compute');
  if (compute) out.compute = local(compute);
  const network = pick('network');
  if (network) out.network = /\/v2\.0$/.test(local(network)) ? local(network) : `${local(network)}/v2.0`;
  const image = pick('image');
  if (image) out.image = /\/v2$/.test(local(image)) ? local(image) : `${local(image)}/v2`;
  return out;
}

async function computeVersion(base: string | undefined, token: string): Promise<string> {
  if (!base) return '2.1';
  try {
    const doc = await json<{ version?: { version?: string } }>(await call(`${base}/`, token, {}));
    const [maj, min] = (doc.version?.version ?? '2.1').split('.').map(Number);
    if (maj !== 2 || min === undefined || Number.isNaN(min)) return '2.1';
    return `2.${Math.min(min, OUR_COMPUTE_MAX[1])}`;
  } catch {
    return '2.1';
  }
}

/** Logs in with a password and returns an unscoped token and the projects the user may pick. */
export async function passwordLogin(domain: string, user: string, password: string): Promise<{ token: string; projects: Ref[] }> {
  const res = await call(`${IDENTITY}/auth/tokens`, undefined, {
    method: 'POST',
    query: { nocatalog: '1' },
    body: { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { name: domain }, password } } } } },
  });
  const token = res.headers.get('x-subject-token');
  if (!token) throw new ApiError(res.status, 'Identity answered without a token.');
  const projects = await json<{ projects: (Ref & { enabled?: boolean })[] }>(await call(`${IDENTITY}/auth/projects`, token, {}));
  return { token, projects: projects.projects.filter((p) => p.enabled !== false).map((p) => ({ id: p.id, name: p.name })) };
}

/** Exchanges the unscoped token for one scoped to `projectId`, with the catalog. */
export async function scopeTo(unscopedToken: string, projectId: string, projects: Ref[]): Promise<Session> {
  const res = await call(`${IDENTITY}/auth/tokens`, undefined, {
    method: 'POST',
    body: { auth: { identity: { methods: ['token'], token: { id: unscopedToken } }, scope: { project: { id: projectId } } } },
  });
  const token = res.headers.get('x-subject-token');
  if (!token) throw new ApiError(res.status, 'Identity answered without a token.');
  const body = await json<TokenBody>(res);
  const t = body.token;
  if (!t.project) throw new ApiError(400, 'Identity gave a token without a project.');
  const endpoints = endpointsOf(t.catalog ?? []);
  return {
    token,
    unscopedToken,
    user: t.user,
    project: t.project,
    roles: (t.roles ?? []).map((r) => r.name),
    expiresAt: t.expires_at,
    endpoints,
    computeVersion: await computeVersion(endpoints.compute, token),
    projects,
  };
}

/** Revokes the session's tokens (best effort: the server may be gone). */
export async function logout(session: Session): Promise<void> {
  await Promise.allSettled(
    [session.token, session.unscopedToken].map((t) =>
      call(`${IDENTITY}/auth/tokens`, session.token, { method: 'DELETE', headers: { 'x-subject-token': t } }),
    ),
  );
}

/** Calls the cloud's APIs as the logged-in user. */
export class Api {
  constructor(
    readonly session: Session,
    private readonly onUnauthorized: () => void,
  ) {}

  has(service: ServiceType): boolean {
    return this.session.endpoints[service] !== undefined;
  }

  url(service: ServiceType, path: string): string {
    const base = this.session.endpoints[service];
    if (!base) throw new ApiError(404, `This cloud's catalog has no ${service} service yet.`);
    return `${base}${path}`;
  }

  async raw(service: ServiceType, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    if (service === 'compute') headers['openstack-api-version'] = `compute ${this.session.computeVersion}`;
    try {
      return await call(this.url(service, path), this.session.token, { ...opts, headers });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.onUnauthorized();
      throw err;
    }
  }

  async req<T>(service: ServiceType, path: string, opts: RequestOptions = {}): Promise<T> {
    return json<T>(await this.raw(service, path, opts));
  }

  get<T>(service: ServiceType, path: string, query?: RequestOptions['query']): Promise<T> {
    return this.req<T>(service, path, { query });
  }
  post<T>(service: ServiceType, path: string, body?: unknown): Promise<T> {
    return this.req<T>(service, path, { method: 'POST', body: body ?? {} });
  }
  put<T>(service: ServiceType, path: string, body?: unknown): Promise<T> {
    return this.req<T>(service, path, { method: 'PUT', body });
  }
  patch<T>(service: ServiceType, path: string, body: unknown): Promise<T> {
    return this.req<T>(service, path, { method: 'PATCH', body });
  }
  delete(service: ServiceType, path: string): Promise<void> {
    return this.req<void>(service, path, { method: 'DELETE' });
  }
}
