import type { ImageRepo } from '../../store/image/repo.js';
import type { AuthContext } from '../auth.js';
import { badRequest, CloudError, conflict, forbidden, notFound } from '../errors.js';
import { nowIso } from '../ids.js';
import { caller } from './policy.js';
import { LIMITS, MEMBER_STATUSES, type Image, type ImageMember, type MemberStatus } from './types.js';

type Fetch = (auth: AuthContext, id: string) => Promise<{ image: Image; member: ImageMember | undefined }>;

/**
 * Image sharing, Glance's way: the owner of a `shared` image adds projects
 * as members (pending); each member project accepts or rejects for itself;
 * an accepted image shows up in the member's image list.
 */
export class MemberRules {
  constructor(
    private readonly repo: ImageRepo,
    private readonly fetch: Fetch,
    private readonly projectExists?: (id: string) => Promise<boolean>,
  ) {}

  private static requireShared(image: Image): void {
    if (image.visibility !== 'shared') {
      throw forbidden(`Only shared images have members; image ${image.id} is ${image.visibility}. Make it shared first (openstack image set --shared ${image.id}).`);
    }
  }

  private static isOwner(c: AuthContext, image: Image): boolean {
    return c.isAdmin || (image.owner !== null && image.owner === c.projectId);
  }

  async add(auth: AuthContext | undefined, imageId: string, memberId: unknown): Promise<ImageMember> {
    const c = caller(auth, 'write');
    const { image } = await this.fetch(c, imageId);
    if (!MemberRules.isOwner(c, image)) throw forbidden(`You are not permitted to add members to image ${image.id}: only its owner may share it.`);
    MemberRules.requireShared(image);
    if (typeof memberId !== 'string' || memberId.length === 0 || memberId.length > 255) {
      throw badRequest('The body must name the project to share with: {"member": "<project id>"}.');
    }
    if (memberId === image.owner) throw conflict(`Project ${memberId} owns image ${image.id}; it cannot also be a member.`);
    if (this.projectExists && !(await this.projectExists(memberId))) {
      throw badRequest(`No project with id ${memberId} exists; pass a project id (openstack project list).`);
    }
    if (await this.repo.getMember(image.id, memberId)) throw conflict(`Member ${memberId} already associated with image ${image.id}.`);
    if ((await this.repo.countMembers(image.id)) >= LIMITS.members) {
      throw new CloudError('PayloadTooLarge', `Image ${image.id} already has the maximum of ${LIMITS.members} members.`);
    }
    const now = nowIso();
    const m: ImageMember = { image_id: image.id, member: memberId, status: 'pending', created_at: now, updated_at: now };
    await this.repo.insertMember(m);
    return m;
  }

  /** The owner sees every member; a member sees only itself. */
  async list(auth: AuthContext | undefined, imageId: string): Promise<ImageMember[]> {
    const c = caller(auth, 'read');
    const { image, member } = await this.fetch(c, imageId);
    MemberRules.requireShared(image);
    if (MemberRules.isOwner(c, image)) return this.repo.listMembers(image.id);
    return member ? [member] : [];
  }

  async get(auth: AuthContext | undefined, imageId: string, memberId: string): Promise<ImageMember> {
    const c = caller(auth, 'read');
    const { image } = await this.fetch(c, imageId);
    MemberRules.requireShared(image);
    const m = await this.repo.getMember(image.id, memberId);
    if (!m || !(MemberRules.isOwner(c, image) || memberId === c.projectId)) throw notFound(`Project ${memberId} is not a member of image ${image.id}.`);
    return m;
  }

  /** Only the member project (or an admin) accepts, rejects or resets its membership. */
  async setStatus(auth: AuthContext | undefined, imageId: string, memberId: string, status: unknown): Promise<ImageMember> {
    const c = caller(auth, 'write');
    const { image } = await this.fetch(c, imageId);
    const m = await this.repo.getMember(image.id, memberId);
    if (!m || !(MemberRules.isOwner(c, image) || memberId === c.projectId)) throw notFound(`Project ${memberId} is not a member of image ${image.id}.`);
    if (typeof status !== 'string' || !(MEMBER_STATUSES as readonly string[]).includes(status)) {
      throw badRequest(`Invalid member status ${JSON.stringify(status) ?? 'undefined'}: use one of ${MEMBER_STATUSES.join(', ')}.`);
    }
    if (memberId !== c.projectId && !c.isAdmin) {
      throw forbidden(`Only project ${memberId} itself may accept or reject image ${image.id}; the owner shares and unshares (image add/remove project).`);
    }
    const now = nowIso();
    await this.repo.updateMember(image.id, memberId, status as MemberStatus, now);
    return { ...m, status: status as MemberStatus, updated_at: now };
  }

  async remove(auth: AuthContext | undefined, imageId: string, memberId: string): Promise<void> {
    const c = caller(auth, 'write');
    const { image } = await this.fetch(c, imageId);
    const m = await this.repo.getMember(image.id, memberId);
    const owner = MemberRules.isOwner(c, image);
    if (!m || !(owner || memberId === c.projectId)) throw notFound(`Project ${memberId} is not a member of image ${image.id}.`);
    if (!owner) throw forbidden(`Only the owner of image ${image.id} may remove its members; reject it instead (openstack image set --reject ${image.id}).`);
    await this.repo.deleteMember(image.id, memberId);
  }
}
