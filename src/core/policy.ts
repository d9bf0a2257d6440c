import type { AuthContext } from './auth.js';
import { forbidden, notFound, unauthorized } from './errors.js';

/**
 * Who may do what, in one place every service calls.
 *
 * Keystone's default roles, with the default implications admin ⇒ member ⇒
 * reader: a reader lists and shows within its project; a member also creates
 * and changes within its project; admin does everything, everywhere.
 * Resources of another project are reported as missing (404), never as
 * forbidden, so their existence does not leak.
 */

export type Access = 'read' | 'write';

/** Throws unless the caller holds a project-scoped token that may `access` things in its project. */
export function requireProjectRole(ctx: AuthContext | undefined, access: Access): AuthContext & { projectId: string } {
  const c = requireAuth(ctx);
  if (c.isAdmin && c.projectId) return c as AuthContext & { projectId: string };
  if (!c.projectId) {
    throw forbidden('This action needs a project-scoped token; authenticate with a project (e.g. --os-project-name demo).');
  }
  if (access === 'read' ? !c.isReader : !c.isMember) {
    throw forbidden(
      access === 'read'
        ? 'You need the reader, member or admin role on this project.'
        : `Your role on project ${c.projectName ?? c.projectId} is reader: it may look but not change. Ask an admin for the member role.`,
    );
  }
  return c as AuthContext & { projectId: string };
}

export function requireAuth(ctx: AuthContext | undefined): AuthContext {
  if (!ctx) throw unauthorized('The request you have made requires authentication.');
  return ctx;
}

export function requireAdmin(ctx: AuthContext | undefined, what = 'this action'): AuthContext {
  const c = requireAuth(ctx);
  if (!c.isAdmin) throw forbidden(`You are not authorized to perform ${what}: it needs the admin role.`);
  return c;
}

/**
 * May the caller see a thing owned by `ownerProjectId`? Admin sees all;
 * others only their own project's things (plus what the caller passes as
 * `alsoVisible`, e.g. a shared network or a public image).
 */
export function canSee(ctx: AuthContext, ownerProjectId: string | null | undefined, alsoVisible = false): boolean {
  return ctx.isAdmin || alsoVisible || (ownerProjectId !== undefined && ownerProjectId !== null && ownerProjectId === ctx.projectId);
}

/** Returns the thing if visible, else throws the service's NotFound with `missing` as message. */
export function visibleOr404<T>(ctx: AuthContext, thing: T | undefined, owner: (t: T) => string | null | undefined, missing: string): T {
  if (thing === undefined || !canSee(ctx, owner(thing))) throw notFound(missing);
  return thing;
}

/**
 * May the caller change a thing owned by `ownerProjectId`? Admin always;
 * a member within its own project. A reader gets 403 (it can see the thing).
 */
export function requireWriteOn(ctx: AuthContext, ownerProjectId: string | null | undefined, missing: string): void {
  if (ctx.isAdmin) return;
  if (ownerProjectId !== ctx.projectId) throw notFound(missing);
  if (!ctx.isMember) {
    throw forbidden('Your role on this project is reader: it may look but not change. Ask an admin for the member role.');
  }
}
