import type { AuthContext } from '../../core/auth.js';
import { keystoneTime } from '../../core/ids.js';
import type { CatalogEntry } from '../../core/identity/service.js';
import type {
  AppCredentialRow,
  DomainRow,
  EndpointRow,
  GroupRow,
  ProjectRow,
  RegionRow,
  RoleRow,
  ServiceRow,
  UserRow,
} from '../../store/identity/repo.js';

/** Keystone's JSON shapes. `base` is the identity root URL, e.g. http://127.0.0.1:8780/identity */

const link = (base: string, path: string) => ({ self: `${base}/v3/${path}` });

function extraOf(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export const domainView = (base: string, d: DomainRow) => ({
  ...extraOf(d.extra),
  id: d.id,
  name: d.name,
  description: d.description,
  enabled: d.enabled === 1,
  tags: [],
  options: {},
  links: link(base, `domains/${d.id}`),
});

export const projectView = (base: string, p: ProjectRow) => ({
  ...extraOf(p.extra),
  id: p.id,
  name: p.name,
  domain_id: p.domain_id,
  description: p.description,
  enabled: p.enabled === 1,
  parent_id: p.parent_id ?? p.domain_id,
  is_domain: false,
  tags: JSON.parse(p.tags) as string[],
  options: {},
  links: link(base, `projects/${p.id}`),
});

export const userView = (base: string, u: UserRow) => {
  const out: Record<string, unknown> = {
    ...extraOf(u.extra),
    id: u.id,
    name: u.name,
    domain_id: u.domain_id,
    enabled: u.enabled === 1,
    password_expires_at: u.password_expires_at,
    options: {},
    links: link(base, `users/${u.id}`),
  };
  if (u.default_project_id) out['default_project_id'] = u.default_project_id;
  if (u.description) out['description'] = u.description;
  if (u.email) out['email'] = u.email;
  return out;
};

export const groupView = (base: string, g: GroupRow) => ({
  id: g.id,
  name: g.name,
  domain_id: g.domain_id,
  description: g.description,
  links: link(base, `groups/${g.id}`),
});

export const roleView = (base: string, r: RoleRow) => ({
  id: r.id,
  name: r.name,
  domain_id: r.domain_id === '' ? null : r.domain_id,
  description: r.description,
  options: {},
  links: link(base, `roles/${r.id}`),
});

export const regionView = (base: string, r: RegionRow) => ({
  id: r.id,
  description: r.description,
  parent_region_id: r.parent_region_id,
  links: link(base, `regions/${r.id}`),
});

export const serviceView = (base: string, s: ServiceRow) => ({
  id: s.id,
  type: s.type,
  name: s.name,
  description: s.description,
  enabled: s.enabled === 1,
  links: link(base, `services/${s.id}`),
});

export const endpointView = (base: string, e: EndpointRow) => ({
  id: e.id,
  interface: e.interface,
  region: e.region_id,
  region_id: e.region_id,
  service_id: e.service_id,
  url: e.url,
  enabled: e.enabled === 1,
  links: link(base, `endpoints/${e.id}`),
});

export const appCredentialView = (base: string, a: AppCredentialRow, secret?: string) => {
  const out: Record<string, unknown> = {
    id: a.id,
    name: a.name,
    description: a.description || null,
    user_id: a.user_id,
    project_id: a.project_id,
    expires_at: a.expires_at ? keystoneTime(a.expires_at) : null,
    unrestricted: a.unrestricted === 1,
    roles: JSON.parse(a.roles) as unknown,
    access_rules: [],
    links: link(base, `users/${a.user_id}/application_credentials/${a.id}`),
  };
  if (secret !== undefined) out['secret'] = secret;
  return out;
};

export const collection = (base: string, path: string, key: string, items: unknown[]) => ({
  [key]: items,
  links: { self: `${base}/v3/${path}`, previous: null, next: null },
});

/** The body of a token (POST/GET /v3/auth/tokens). */
export function tokenView(ctx: AuthContext, catalog: CatalogEntry[] | undefined) {
  const token: Record<string, unknown> = {
    methods: ctx.methods,
    user: {
      id: ctx.userId,
      name: ctx.userName,
      domain: { id: ctx.userDomainId, name: ctx.userDomainName },
      password_expires_at: null,
    },
    audit_ids: ctx.auditIds,
    issued_at: keystoneTime(ctx.issuedAt),
    expires_at: keystoneTime(ctx.expiresAt),
  };
  if (ctx.projectId) {
    token['project'] = { id: ctx.projectId, name: ctx.projectName, domain: { id: ctx.projectDomainId, name: ctx.projectDomainName } };
    token['is_domain'] = false;
  }
  if (ctx.domainId) token['domain'] = { id: ctx.domainId, name: ctx.domainName };
  if (ctx.projectId || ctx.domainId) token['roles'] = ctx.roles.map((r) => ({ id: r.id, name: r.name }));
  if (ctx.appCredentialId) token['application_credential'] = { id: ctx.appCredentialId, restricted: true };
  if (catalog) token['catalog'] = catalog;
  return { token };
}
