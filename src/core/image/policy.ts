import type { AuthContext } from '../auth.js';
import { forbidden, notFound } from '../errors.js';
import { requireProjectRole, type Access } from '../policy.js';
import type { Image, ImageMember, Visibility } from './types.js';

/**
 * Glance's default policy, in one place: admin sees and changes everything;
 * a project sees its own images, public and community images, and shared
 * images it is a member of; only the owner (a member-role user of the
 * owning project) changes an image. What a caller may not see is 404.
 */

/** The caller, checked for a project-scoped token with the needed role. */
export function caller(auth: AuthContext | undefined, access: Access): AuthContext & { projectId: string } {
  return requireProjectRole(auth, access);
}

export const imageMissing = (id: string): string => `No image found with ID ${id}.`;

/** May the caller see this image at all (show, download, members)? `member` is the caller's membership, if any. */
export function canSeeImage(c: AuthContext, image: Image, member: ImageMember | undefined): boolean {
  if (c.isAdmin || image.owner === c.projectId) return true;
  if (image.visibility === 'public' || image.visibility === 'community') return true;
  return image.visibility === 'shared' && member !== undefined;
}

/** Throws 404 unless visible. */
export function requireVisible(c: AuthContext, image: Image | undefined, member: ImageMember | undefined, id: string): Image {
  if (!image || !canSeeImage(c, image, member)) throw notFound(imageMissing(id));
  return image;
}

/** Throws unless the caller may change the image: 404 if it cannot see it, 403 if it sees but does not own it. */
export function requireOwner(c: AuthContext, image: Image, member: ImageMember | undefined, what: string): void {
  if (c.isAdmin) return;
  if (image.owner !== c.projectId) {
    if (!canSeeImage(c, image, member)) throw notFound(imageMissing(image.id));
    throw forbidden(`You are not permitted to ${what} image ${image.id}: it belongs to another project.`);
  }
  if (!c.isMember) throw forbidden('Your role on this project is reader: it may look but not change. Ask an admin for the member role.');
}

/** Making an image public is an admin's decision (Glance's publicize_image). */
export function requireMayPublish(c: AuthContext, visibility: Visibility | undefined): void {
  if (visibility === 'public' && !c.isAdmin) {
    throw forbidden("Only an admin may make an image public (visibility 'public'); use 'community' to offer it to every project, or 'shared' to share it with chosen projects.");
  }
}
