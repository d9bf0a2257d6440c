import type { AuthContext, RoleRef } from '../auth.js';
import { badRequest, CloudError, notFound, unauthorized } from '../errors.js';
import type { IdentityRepo, ProjectRow, UserRow } from '../../store/identity/repo.js';
import { verifySecret } from './passwords.js';
import { auditId, type TokenClaims, type TokenSigner } from './tokens.js';

export const ADMIN_ROLE = 'admin';
export const MEMBER_ROLE = 'member';
export const READER_ROLE = 'reader';

/** The parsed `auth` object of POST /v3/auth/tokens (validated by the route's schema first). */
export interface AuthRequest {
  identity: {
    methods: string[];
    password?: { user: UserRef & { password: string } };
    token?: { id: string };
    application_credential?: { id?: string; name?: string; secret: string; user?: UserRef };
  };
  scope?: 'unscoped' | ScopeRequest;
}
export interface NameOrId {
  id?: string;
  name?: string;
}
export interface UserRef extends NameOrId {
  domain?: NameOrId;
}
export interface ScopeRequest {
  project?: NameOrId & { domain?: NameOrId };
  domain?: NameOrId;
  system?: unknown;
}

export interface CatalogEntry {
  id: string;
  type: string;
  name: string;
  endpoints: { id: string; interface: string; region: string | null; region_id: string | null; url: string }[];
}

interface CacheEntry {
  ctx: AuthContext;
  generation: number;
}

const AUTH_FAILED = 'The request you have made requires authentication.';
const CACHE_MAX = 10_000;

/**
 * Authentication, token validation and role resolution. Validated tokens are
 * cached until any identity write (see IdentityRepo.generation), which keeps
 * an authenticated request at a map lookup on the hot path.
 */
export class IdentityService {
  private cache = new Map<string, CacheEntry>();
  private scopes = new Map<string, { rows: ProjectRow[]; generation: number }>();
  private tables = new Map<string, { value: unknown; generation: number }>();
  private revocations: Awaited<ReturnType<IdentityRepo['liveRevocations']>> = [];
  private revocationsGen = -1;

  constructor(
    readonly repo: IdentityRepo,
    private readonly signer: TokenSigner,
    private readonly ttlMs: number,
  ) {}

  /** POST /v3/auth/tokens */
  async authenticate(req: AuthRequest): Promise<{ token: string; ctx: AuthContext }> {
    const methods = req.identity.methods;
    if (methods.length === 0) throw badRequest('auth.identity.methods must name at least one method');
    let user: UserRow | undefined;
    let parent: AuthContext | undefined;
    let appCred: { id: string; projectId: string; roles: RoleRef[] } | undefined;
    const method = methods[0];
    if (methods.length > 1) throw badRequest('Only one authentication method per request is supported.');
    if (method === 'password') {
      const p = req.identity.password;
      if (!p) throw badRequest('auth.identity.password is required for the password method');
      user = await this.findUser(p.user);
      const hash = user?.password_hash;
      const ok = hash ? await verifySecret(p.user.password, hash) : false;
      if (!user || !ok) throw unauthorized(`${AUTH_FAILED} (wrong user name or password)`);
    } else if (method === 'token') {
      const t = req.identity.token;
      if (!t) throw badRequest('auth.identity.token is required for the token method');
      parent = await this.validate(t.id).catch(() => {
        throw unauthorized(`${AUTH_FAILED} (the token is invalid, expired or revoked)`);
      });
      if (parent.appCredentialId) throw unauthorized('A token made from an application credential cannot be rescoped.');
      user = await this.repo.getUser(parent.userId);
    } else if (method === 'application_credential') {
      const a = req.identity.application_credential;
      if (!a) throw badRequest('auth.identity.application_credential is required for that method');
      let row;
      if (a.id !== undefined) row = await this.repo.getAppCredential(a.id);
      else if (a.name !== undefined && a.user) {
        const owner = await this.findUser(a.user);
        row = owner ? await this.repo.getAppCredentialByName(owner.id, a.name) : undefined;
      } else throw badRequest('An application credential is named by id, or by name with its user.');
      const ok = row ? await verifySecret(a.secret, row.secret_hash) : false;
      if (!row || !ok) throw unauthorized(`${AUTH_FAILED} (wrong application credential or secret)`);
      if (row.expires_at && Date.parse(row.expires_at) <= Date.now()) throw unauthorized('The application credential has expired.');
      user = await this.repo.getUser(row.user_id);
      appCred = { id: row.id, projectId: row.project_id, roles: JSON.parse(row.roles) as RoleRef[] };
    } else {
      throw unauthorized(`Unsupported authentication method "${String(method)}"; use password, token or application_credential.`);
    }
    if (!user || !user.enabled) throw unauthorized(`${AUTH_FAILED} (the user is disabled or gone)`);
    const userDomain = await this.repo.getDomain(user.domain_id);
    if (!userDomain?.enabled) throw unauthorized(`${AUTH_FAILED} (the user's domain is disabled)`);

    const now = Date.now();
    const claims: TokenClaims = {
      sub: user.id,
      m: parent ? [...new Set([...parent.methods, 'token'])] : [method],
      a: auditId(),
      t: now,
      x: parent ? Math.min(Date.parse(parent.expiresAt), now + this.ttlMs) : now + this.ttlMs,
    };
    if (parent) claims.a2 = parent.auditIds[parent.auditIds.length - 1] ?? parent.auditIds[0];
    if (appCred) {
      claims.ac = appCred.id;
      if (req.scope && req.scope !== 'unscoped' && req.scope.project?.id && req.scope.project.id !== appCred.projectId) {
        throw unauthorized('An application credential is bound to its own project; it cannot be rescoped.');
      }
      claims.p = appCred.projectId;
    } else {
      await this.applyScope(claims, user, req.scope);
    }
    const token = await this.signer.sign(claims);
    const ctx = await this.contextFor(token, claims);
    if (claims.p && ctx.roles.length === 0) {
      throw unauthorized(`User ${user.name} has no role on the requested project; ask an admin to add one.`);
    }
    if (claims.d && ctx.roles.length === 0) {
      throw unauthorized(`User ${user.name} has no role on the requested domain; ask an admin to add one.`);
    }
    return { token, ctx };
  }

  private async applyScope(claims: TokenClaims, user: UserRow, scope: AuthRequest['scope']): Promise<void> {
    if (scope === 'unscoped') return;
    if (scope === undefined) {
      // Keystone scopes to the user's default project when none is asked for.
      if (user.default_project_id) {
        const p = await this.repo.getProject(user.default_project_id);
        if (p?.enabled && (await this.effectiveRoles(user.id, 'project', p)).length > 0) claims.p = p.id;
      }
      return;
    }
    if (scope.system !== undefined) throw unauthorized('System-scoped tokens are not supported; scope to the admin project instead.');
    if (scope.project) {
      const p = await this.findProject(scope.project);
      if (!p) throw unauthorized(`${AUTH_FAILED} (no such project)`);
      if (!p.enabled) throw unauthorized(`${AUTH_FAILED} (project ${p.name} is disabled)`);
      claims.p = p.id;
    } else if (scope.domain) {
      const d = scope.domain.id !== undefined ? await this.repo.getDomain(scope.domain.id) : await this.repo.getDomainByName(scope.domain.name ?? '');
      if (!d?.enabled) throw unauthorized(`${AUTH_FAILED} (no such domain, or it is disabled)`);
      claims.d = d.id;
    } else {
      throw badRequest('auth.scope must name a project or a domain');
    }
  }

  async findUser(ref: UserRef): Promise<UserRow | undefined> {
    if (ref.id !== undefined) return this.repo.getUser(ref.id);
    if (ref.name === undefined) throw badRequest('A user is named by id, or by name with its domain.');
    const domainId = await this.domainIdOf(ref.domain);
    return domainId ? this.repo.getUserByName(domainId, ref.name) : undefined;
  }

  async findProject(ref: NameOrId & { domain?: NameOrId }): Promise<ProjectRow | undefined> {
    if (ref.id !== undefined) return this.repo.getProject(ref.id);
    if (ref.name === undefined) throw badRequest('A project is named by id, or by name with its domain.');
    const domainId = await this.domainIdOf(ref.domain);
    return domainId ? this.repo.getProjectByName(domainId, ref.name) : undefined;
  }

  private async domainIdOf(ref: NameOrId | undefined): Promise<string | undefined> {
    if (!ref) throw badRequest('A name must come with its domain ({"domain": {"id": "default"}}).');
    if (ref.id !== undefined) return (await this.repo.getDomain(ref.id))?.id;
    if (ref.name !== undefined) return (await this.repo.getDomainByName(ref.name))?.id;
    throw badRequest('A domain is named by id or name.');
  }

  /** Validates a bearer token; throws 401 when it is not good (forged, expired, revoked, user gone). */
  async validate(token: string): Promise<AuthContext> {
    const hit = this.cache.get(token);
    if (hit && hit.generation === this.repo.generation && Date.parse(hit.ctx.expiresAt) > Date.now()) return hit.ctx;
    const claims = await this.signer.verify(token);
    if (!claims) throw unauthorized(`${AUTH_FAILED} (the token is invalid or expired)`);
    if (await this.isRevoked(claims)) throw unauthorized(`${AUTH_FAILED} (the token was revoked)`);
    const ctx = await this.contextFor(token, claims);
    if ((claims.p || claims.d) && ctx.roles.length === 0) throw unauthorized(`${AUTH_FAILED} (no role on the token's scope any more)`);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(token, { ctx, generation: this.repo.generation });
    return ctx;
  }

  private async isRevoked(c: TokenClaims): Promise<boolean> {
    if (this.revocationsGen !== this.repo.generation) {
      const gen = this.repo.generation;
      this.revocations = await this.repo.liveRevocations(new Date().toISOString());
      this.revocationsGen = gen;
    }
    for (const r of this.revocations) {
      if (r.audit_id !== null && (r.audit_id === c.a || r.audit_id === c.a2)) return true;
      if (r.audit_id === null && Date.parse(r.issued_before) > c.t) {
        const userMatch = r.user_id === null || r.user_id === c.sub;
        const projectMatch = r.project_id === null || r.project_id === c.p;
        const acMatch = r.app_cred_id === null || r.app_cred_id === c.ac;
        if (userMatch && projectMatch && acMatch && (r.user_id ?? r.project_id ?? r.app_cred_id) !== null) return true;
      }
    }
    return false;
  }

  /** Revokes one token (by its audit id, so rescoped children die with it). */
  async revokeToken(ctx: AuthContext): Promise<void> {
    const first = ctx.auditIds[0];
    if (first === undefined) return;
    await this.repo.insertRevocation({ audit_id: first, issued_before: new Date().toISOString(), expires_at: ctx.expiresAt });
  }

  /** Revokes every token a user (or an app credential, or a user on a project) was issued until now. */
  async revokeAllFor(f: { userId?: string; projectId?: string; appCredId?: string }): Promise<void> {
    const now = new Date();
    await this.repo.insertRevocation({
      user_id: f.userId ?? null,
      project_id: f.projectId ?? null,
      app_cred_id: f.appCredId ?? null,
      issued_before: new Date(now.getTime() + 1).toISOString(),
      expires_at: new Date(now.getTime() + this.ttlMs + 60_000).toISOString(),
    });
  }

  private async contextFor(token: string, c: TokenClaims): Promise<AuthContext> {
    const user = await this.repo.getUser(c.sub);
    if (!user?.enabled) throw unauthorized(`${AUTH_FAILED} (the user is disabled or gone)`);
    const userDomain = await this.repo.getDomain(user.domain_id);
    if (!userDomain?.enabled) throw unauthorized(`${AUTH_FAILED} (the user's domain is disabled)`);
    const ctx: AuthContext = {
      token,
      userId: user.id,
      userName: user.name,
      userDomainId: userDomain.id,
      userDomainName: userDomain.name,
      roles: [],
      methods: c.m,
      auditIds: c.a2 ? [c.a, c.a2] : [c.a],
      issuedAt: new Date(c.t).toISOString(),
      expiresAt: new Date(c.x).toISOString(),
      isAdmin: false,
      isMember: false,
      isReader: false,
    };
    if (c.ac) {
      const ac = await this.repo.getAppCredential(c.ac);
      if (!ac) throw unauthorized(`${AUTH_FAILED} (the application credential was deleted)`);
      ctx.appCredentialId = ac.id;
    }
    if (c.p) {
      const p = await this.repo.getProject(c.p);
      if (!p?.enabled) throw unauthorized(`${AUTH_FAILED} (the token's project is disabled or gone)`);
      const pd = await this.repo.getDomain(p.domain_id);
      ctx.projectId = p.id;
      ctx.projectName = p.name;
      ctx.projectDomainId = p.domain_id;
      ctx.projectDomainName = pd?.name ?? p.domain_id;
      ctx.roles = await this.effectiveRoles(user.id, 'project', p);
    } else if (c.d) {
      const d = await this.repo.getDomain(c.d);
      if (!d?.enabled) throw unauthorized(`${AUTH_FAILED} (the token's domain is disabled or gone)`);
      ctx.domainId = d.id;
      ctx.domainName = d.name;
      ctx.roles = await this.effectiveRoles(user.id, 'domain', { id: d.id, domain_id: d.id });
    }
    if (ctx.appCredentialId) {
      const ac = await this.repo.getAppCredential(ctx.appCredentialId);
      const allowed = new Set((ac ? (JSON.parse(ac.roles) as RoleRef[]) : []).map((r) => r.id));
      const expanded = await this.expandImplied([...allowed]);
      ctx.roles = ctx.roles.filter((r) => expanded.has(r.id));
    }
    const names = new Set(ctx.roles.map((r) => r.name));
    ctx.isAdmin = names.has(ADMIN_ROLE);
    ctx.isMember = ctx.isAdmin || names.has(MEMBER_ROLE);
    ctx.isReader = ctx.isMember || names.has(READER_ROLE);
    return ctx;
  }

  /** Roles a user holds on a target: direct, through groups, inherited from the domain, then implied. */
  async effectiveRoles(userId: string, targetType: 'project' | 'domain', target: { id: string; domain_id: string }): Promise<RoleRef[]> {
    const actorIds = [userId, ...(await this.repo.groupIdsOf(userId))];
    const direct = await this.repo.listAssignments({ actorIds, targetType, targetId: target.id });
    const ids = new Set(direct.filter((a) => (targetType === 'project' ? true : !a.inherited)).map((a) => a.role_id));
    if (targetType === 'project') {
      const inherited = await this.repo.listAssignments({ actorIds, targetType: 'domain', targetId: target.domain_id, inherited: true });
      for (const a of inherited) ids.add(a.role_id);
    }
    const all = await this.expandImplied([...ids]);
    const roles = await this.shared('roles', () => this.repo.allRoles());
    return roles.filter((r) => all.has(r.id)).map((r) => ({ id: r.id, name: r.name }));
  }

  async expandImplied(roleIds: string[]): Promise<Set<string>> {
    const edges = await this.shared('implied', () => this.repo.listImplied());
    const out = new Set(roleIds);
    const stack = [...roleIds];
    while (stack.length) {
      const r = stack.pop() as string;
      for (const e of edges) {
        if (e.prior_role_id === r && !out.has(e.implied_role_id)) {
          out.add(e.implied_role_id);
          stack.push(e.implied_role_id);
        }
      }
    }
    return out;
  }

  /** The service catalog, with $(project_id)s substituted for a project-scoped token. */
  async catalog(ctx: AuthContext): Promise<CatalogEntry[]> {
    const services = await this.shared('services', () => this.repo.listServices({}));
    const endpoints = await this.shared('endpoints', () => this.repo.listEndpoints({}));
    const out: CatalogEntry[] = [];
    for (const s of services) {
      if (!s.enabled) continue;
      const eps = endpoints.filter((e) => e.service_id === s.id && e.enabled);
      const rendered = [];
      for (const e of eps) {
        if (/\$\((project_id|tenant_id)\)s/.test(e.url) && !ctx.projectId) continue;
        const url = e.url.replace(/\$\((project_id|tenant_id)\)s/g, ctx.projectId ?? '');
        rendered.push({ id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, url });
      }
      out.push({ id: s.id, type: s.type, name: s.name, endpoints: rendered });
    }
    return out;
  }

  /**
   * Small whole tables every token issue and validation reads (roles, their
   * implications, services, endpoints), kept until the next identity write.
   */
  private async shared<T>(name: string, load: () => Promise<T>): Promise<T> {
    const hit = this.tables.get(name);
    if (hit && hit.generation === this.repo.generation) return hit.value as T;
    const generation = this.repo.generation;
    const value = await load();
    this.tables.set(name, { value, generation });
    return value;
  }

  /**
   * Enabled projects on which the user has any role: directly, through a
   * group, or inherited from the domain. Cached until the next identity
   * write, as validated tokens are: clients ask it on every authentication
   * (GET /v3/auth/projects), and it is four queries.
   */
  async projectsOf(userId: string): Promise<ProjectRow[]> {
    const hit = this.scopes.get(userId);
    if (hit && hit.generation === this.repo.generation) return hit.rows;
    const generation = this.repo.generation;
    const actorIds = [userId, ...(await this.repo.groupIdsOf(userId))];
    const direct = await this.repo.listAssignments({ actorIds, targetType: 'project' });
    const inherited = new Set((await this.repo.listAssignments({ actorIds, targetType: 'domain', inherited: true })).map((a) => a.target_id));
    const ids = new Set(direct.map((a) => a.target_id));
    const rows = (await this.repo.listProjects({ enabled: true })).filter((p) => ids.has(p.id) || inherited.has(p.domain_id));
    if (this.scopes.size >= CACHE_MAX) this.scopes.clear();
    this.scopes.set(userId, { rows, generation });
    return rows;
  }

  /** Throws the Keystone 404 for a token given as X-Subject-Token that is not valid. */
  async validateSubject(token: string): Promise<AuthContext> {
    try {
      return await this.validate(token);
    } catch (err) {
      if (err instanceof CloudError && err.status === 401) throw notFound(`Could not find token: the token is invalid, expired or revoked.`);
      throw err;
    }
  }
}
