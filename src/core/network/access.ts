import type { AuthContext } from '../auth.js';
import { badRequest } from '../errors.js';
import { requireProjectRole } from '../policy.js';
import { policyNotAuthorized } from './errors.js';

/**
 * Neutron's default policy, reduced to what this cloud serves: readers read
 * their project, members change it, admin does everything everywhere;
 * shared and external networks are visible to every project; provider
 * attributes, router:external, shared and port bindings are admin's. Other
 * projects' resources are reported missing (404).
 */

/** The caller of a Neutron route, resolved once per request. */
export interface Caller {
  auth: AuthContext;
  projectId: string;
  isAdmin: boolean;
}

export function reader(auth: AuthContext | undefined): Caller {
  const c = requireProjectRole(auth, 'read');
  return { auth: c, projectId: c.projectId, isAdmin: c.isAdmin };
}

export function member(auth: AuthContext | undefined): Caller {
  const c = requireProjectRole(auth, 'write');
  return { auth: c, projectId: c.projectId, isAdmin: c.isAdmin };
}

/** The repository scope for listing: admin sees every project. */
export function scopeOf(c: Caller): { projectId?: string } {
  return c.isAdmin ? {} : { projectId: c.projectId };
}

/** True when the caller may see a thing of `ownerProjectId`. */
export function owns(c: Caller, ownerProjectId: string): boolean {
  return c.isAdmin || ownerProjectId === c.projectId;
}

/** Throws Neutron's 403 unless the caller is admin; `rule` names the policy (e.g. "create_network:shared"). */
export function adminOnly(c: Caller, rule: string): void {
  if (!c.isAdmin) throw policyNotAuthorized(rule);
}

/**
 * The project a new resource belongs to: the caller's, unless the body
 * names another (admin only), with tenant_id as the older spelling.
 */
export function targetProject(c: Caller, body: { project_id?: string | undefined; tenant_id?: string | undefined }): string {
  const p = body.project_id;
  const t = body.tenant_id;
  if (p !== undefined && t !== undefined && p !== t) {
    throw badRequest('project_id and tenant_id do not match: send one of them, or the same value in both.');
  }
  const want = p ?? t;
  if (want === undefined || want === c.projectId) return c.projectId;
  if (!c.isAdmin) {
    throw badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges.");
  }
  return want;
}
