import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ImageFiles, Received } from '../../store/image/files.js';
import type { ImageRepo } from '../../store/image/repo.js';
import type { AuthContext } from '../auth.js';
import { badRequest, CloudError, conflict, forbidden, notFound } from '../errors.js';
import { nowIso, uuid } from '../ids.js';
import { requireAdmin } from '../policy.js';
import { checkImageId, checkTag, parseCreateBody } from './attributes.js';
import { judgeInspection, type DiskFormat, type InspectedFile } from './formats.js';
import { applyPatch, type PatchOp } from './json-patch.js';
import type { ListRequest } from './list-query.js';
import { caller, canSeeImage, imageMissing, requireMayPublish, requireOwner, requireVisible } from './policy.js';
import { parseRange, type ByteRange } from './range.js';
import { HASH_ALGO, LIMITS, NO_IMAGE_USAGE, type Image, type ImageMember, type ImageUsage, type Visibility } from './types.js';
import { MemberRules } from './members.js';

/** Looks at a file and says what format it really is (host/image/qemu-img in production). */
export type Inspector = (path: string) => Promise<InspectedFile>;

export interface ImageServiceDeps {
  repo: ImageRepo;
  files: ImageFiles;
  inspect: Inspector;
  usage?: ImageUsage;
  /** Whether a project id names an existing project (image members must). */
  projectExists?: (id: string) => Promise<boolean>;
  log?: Logger;
}

/** What a download hands the HTTP layer: either nothing to send, or an open file and the byte range. */
export type Download =
  | { kind: 'empty' }
  | { kind: 'data'; image: Image; size: number; range: ByteRange | undefined; open: (start: number, end: number) => Promise<Readable | undefined> };

/** The system's own image registration (bootstrap's default image, compute's snapshots). */
export interface CreateFromFileOptions {
  name: string;
  diskFormat: DiskFormat;
  containerFormat?: string;
  visibility?: Visibility;
  ownerProjectId: string | null;
  properties?: Record<string, string>;
  tags?: string[];
  minDisk?: number;
  minRam?: number;
  protected?: boolean;
  /** Reuse a known id (e.g. to make registration idempotent). */
  id?: string;
  /** The local file to copy in; it is read, never moved. */
  path: string;
}

/** A page of images and the marker of the next page, if there is one. */
export interface ImagePage {
  images: Image[];
  nextMarker: string | undefined;
}

/**
 * Glance's behaviour over the store: create, list, show, patch, delete,
 * upload and download (streamed, hashed, inspected), tags, actions and
 * (through MemberRules) sharing.
 */
export class ImageService {
  readonly repo: ImageRepo;
  readonly files: ImageFiles;
  readonly members: MemberRules;
  usage: ImageUsage;
  private readonly inspect: Inspector;
  private readonly log: Logger | undefined;
  /** Bytes being uploaded right now, per project, so parallel uploads cannot overrun a quota together. */
  private readonly uploading = new Map<string, number>();

  constructor(deps: ImageServiceDeps) {
    this.repo = deps.repo;
    this.files = deps.files;
    this.inspect = deps.inspect;
    this.usage = deps.usage ?? NO_IMAGE_USAGE;
    this.log = deps.log;
    this.members = new MemberRules(deps.repo, (auth, id) => this.fetch(auth, id), deps.projectExists);
  }

  /** Start-up housekeeping: interrupted uploads go back to queued, stray files are removed. */
  async recover(): Promise<void> {
    const requeued = await this.repo.requeueInterruptedUploads(nowIso());
    const removed = await this.files.sweep(await this.repo.idsWithData());
    if (requeued.length || removed.length) this.log?.warn({ requeued, removed }, 'image store: recovered from interrupted uploads');
  }

  /** The image and the caller's membership, 404 when the caller may not see it. */
  async fetch(auth: AuthContext, id: string): Promise<{ image: Image; member: ImageMember | undefined }> {
    const image = await this.repo.get(id.toLowerCase());
    const member = image && auth.projectId ? await this.repo.getMember(image.id, auth.projectId) : undefined;
    return { image: requireVisible(auth, image, member, id), member };
  }

  async show(auth: AuthContext | undefined, id: string): Promise<Image> {
    return (await this.fetch(caller(auth, 'read'), id)).image;
  }

  async create(auth: AuthContext | undefined, body: unknown): Promise<Image> {
    const c = caller(auth, 'write');
    const req = parseCreateBody(body);
    const owner = req.base.owner === undefined ? c.projectId : req.base.owner;
    if (owner !== c.projectId && !c.isAdmin) throw forbidden(`You are not permitted to create images owned by '${String(owner)}': only an admin may create images for another project.`);
    requireMayPublish(c, req.base.visibility);
    const now = nowIso();
    const image: Image = {
      id: req.id ?? uuid(),
      name: req.base.name ?? null,
      owner,
      status: 'queued',
      visibility: req.base.visibility ?? 'shared',
      protected: req.base.protected ?? false,
      os_hidden: req.base.os_hidden ?? false,
      disk_format: req.base.disk_format ?? null,
      container_format: req.base.container_format ?? null,
      size: null,
      virtual_size: null,
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      min_disk: req.base.min_disk ?? 0,
      min_ram: req.base.min_ram ?? 0,
      created_at: now,
      updated_at: now,
      properties: req.properties,
      tags: req.base.tags ?? [],
    };
    if (await this.repo.exists(image.id)) throw conflict(`An image with identifier ${image.id} already exists.`);
    await this.repo.insert(image);
    return image;
  }

  async list(auth: AuthContext | undefined, q: ListRequest): Promise<ImagePage> {
    const c = caller(auth, 'read');
    let marker: Image | undefined;
    if (q.marker !== undefined) {
      const m = await this.repo.get(q.marker.toLowerCase());
      const mem = m && (await this.repo.getMember(m.id, c.projectId));
      if (!m || !canSeeImage(c, m, mem)) throw badRequest(`Invalid marker. Image ${q.marker} could not be found.`);
      marker = m;
    }
    const { marker: _ignored, ...rest } = q;
    const rows = await this.repo.list({ ...rest, viewer: { projectId: c.projectId, isAdmin: c.isAdmin }, marker, limit: q.limit + 1 });
    const images = rows.slice(0, q.limit);
    const nextMarker = rows.length > q.limit && q.limit > 0 ? images.at(-1)?.id : undefined;
    return { images, nextMarker };
  }

  async update(auth: AuthContext | undefined, id: string, ops: PatchOp[], dialect: 4 | 10): Promise<Image> {
    const c = caller(auth, 'write');
    const { image, member } = await this.fetch(c, id);
    requireOwner(c, image, member, 'modify');
    if (ops.length === 0) return image;
    const next = applyPatch(image, ops, dialect);
    const b = next.base;
    if (b.visibility !== undefined && b.visibility !== image.visibility) requireMayPublish(c, b.visibility);
    if (b.owner !== undefined && b.owner !== image.owner && !c.isAdmin) throw forbidden("Owner can't be updated by non admin.");
    for (const k of ['disk_format', 'container_format'] as const) {
      if (b[k] !== undefined && b[k] !== image[k] && image.status !== 'queued') {
        throw forbidden(`Attribute ${k} can be only replaced for a queued image (this one is ${image.status}).`);
      }
    }
    const patch: Record<string, unknown> = { updated_at: nowIso() };
    for (const [k, v] of Object.entries(b)) {
      patch[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    }
    if (!(await this.repo.update(image.id, patch, next.properties, next.tags))) throw notFound(imageMissing(id));
    return this.show(c, image.id);
  }

  async delete(auth: AuthContext | undefined, id: string): Promise<void> {
    const c = caller(auth, 'write');
    const { image, member } = await this.fetch(c, id);
    requireOwner(c, image, member, 'delete');
    if (image.protected) throw forbidden(`Image ${image.id} is protected and cannot be deleted. Unprotect it first (openstack image set --unprotected ${image.id}).`);
    const users = await this.usage.usersOf(image.id);
    if (users.length) {
      throw conflict(`Image ${image.id} is in use by ${users.join(', ')} and cannot be deleted until ${users.length === 1 ? 'that is' : 'those are'} deleted.`);
    }
    if (!(await this.repo.delete(image.id))) throw notFound(imageMissing(id));
    await this.files.remove(image.id);
  }

  async addTag(auth: AuthContext | undefined, id: string, tag: string): Promise<void> {
    const c = caller(auth, 'write');
    const { image, member } = await this.fetch(c, id);
    requireOwner(c, image, member, 'modify');
    checkTag(tag);
    if (image.tags.includes(tag)) return;
    if (image.tags.length >= LIMITS.tags) throw new CloudError('PayloadTooLarge', `Image ${image.id} already has the maximum of ${LIMITS.tags} tags.`);
    await this.repo.addTag(image.id, tag, nowIso());
  }

  async removeTag(auth: AuthContext | undefined, id: string, tag: string): Promise<void> {
    const c = caller(auth, 'write');
    const { image, member } = await this.fetch(c, id);
    requireOwner(c, image, member, 'modify');
    if (!(await this.repo.removeTag(image.id, tag, nowIso()))) throw notFound(`Tag ${tag} not found on image ${image.id}.`);
  }

  /** deactivate: active → deactivated (admin only; data downloads stop for non-admins). reactivate: the reverse. */
  async setActivation(auth: AuthContext | undefined, id: string, action: 'deactivate' | 'reactivate'): Promise<void> {
    const c = caller(auth, 'read');
    const { image } = await this.fetch(c, id);
    requireAdmin(c, `${action} on images`);
    const [from, to] = action === 'deactivate' ? (['active', 'deactivated'] as const) : (['deactivated', 'active'] as const);
    if (image.status === to) return;
    if (image.status !== from || !(await this.repo.transition(image.id, [from], { status: to, updated_at: nowIso() }))) {
      throw forbidden(`Not allowed to ${action} image in status '${image.status}': only ${from} images can be ${action}d.`);
    }
  }

  // --- data

  /**
   * Receives an image's data from a stream: queued → saving → active.
   * Nothing is visible until the bytes are all on disk, hashed and
   * inspected; any failure puts the image back to queued with no file.
   */
  async upload(auth: AuthContext | undefined, id: string, source: Readable, contentLength: number | undefined): Promise<Image> {
    const c = caller(auth, 'write');
    const { image, member } = await this.fetch(c, id);
    requireOwner(c, image, member, 'upload data to');
    return this.receive(image, source, contentLength);
  }

  private async receive(image: Image, source: Readable, contentLength: number | undefined): Promise<Image> {
    const declared = image.disk_format as DiskFormat | null;
    if (declared === null || image.container_format === null) {
      throw badRequest(`Properties disk_format, container_format must be set prior to saving data (openstack image set --disk-format qcow2 --container-format bare ${image.id}).`);
    }
    if (image.status !== 'queued') {
      throw conflict(`Image ${image.id} is ${image.status}: data can be uploaded only once, to a queued image. Create a new image to upload other data.`);
    }
    const owner = image.owner ?? '';
    const quota = image.owner === null ? undefined : await this.repo.quotaFor(owner);
    const used = quota === undefined ? 0 : (await this.repo.bytesOwnedBy(owner)) + (this.uploading.get(owner) ?? 0);
    const overQuota = (bytes: number) =>
      new CloudError(
        'PayloadTooLarge',
        `Image upload refused: project ${owner} may keep ${quota ?? 0} bytes of image data, holds ${used} and this upload is ${bytes}${contentLength === undefined ? ' or more' : ''} bytes. Delete images or ask an admin to raise the quota.`,
      );
    if (quota !== undefined && contentLength !== undefined && used + contentLength > quota) throw overQuota(contentLength);
    if (!(await this.repo.transition(image.id, ['queued'], { status: 'saving', updated_at: nowIso() }))) {
      const now = await this.repo.get(image.id);
      if (!now) throw notFound(imageMissing(image.id));
      throw conflict(`Image ${image.id} is ${now.status}: data can be uploaded only once, to a queued image.`);
    }
    const reserved = contentLength ?? 0;
    this.uploading.set(owner, (this.uploading.get(owner) ?? 0) + reserved);
    let got: Received | undefined;
    try {
      got = await this.files.receive(image.id, source, {
        ...(contentLength === undefined ? {} : { expectedBytes: contentLength }),
        ...(quota === undefined ? {} : { maxBytes: Math.max(0, quota - used), tooLarge: overQuota }),
      });
      if (contentLength !== undefined && got.size !== contentLength) {
        throw badRequest(`The upload ended after ${got.size} of the ${contentLength} bytes announced in Content-Length.`);
      }
      const verdict = judgeInspection(declared, await this.inspectSafely(got.tmpPath));
      if (!verdict.ok) throw badRequest(verdict.reason);
      await this.files.commit(got.tmpPath, image.id);
      const done = await this.repo.transition(image.id, ['saving'], {
        status: 'active',
        size: got.size,
        virtual_size: verdict.virtualSize,
        checksum: got.md5,
        os_hash_algo: HASH_ALGO,
        os_hash_value: got.sha512,
        updated_at: nowIso(),
      });
      if (!done) {
        await this.files.remove(image.id);
        throw new CloudError('Gone', `Image ${image.id} was deleted while its data was uploading; the data was discarded.`);
      }
      got = undefined;
    } catch (err) {
      if (got) await this.files.discard(got.tmpPath);
      await this.repo.transition(image.id, ['saving'], { status: 'queued', updated_at: nowIso() });
      throw err;
    } finally {
      const left = (this.uploading.get(owner) ?? 0) - reserved;
      if (left > 0) this.uploading.set(owner, left);
      else this.uploading.delete(owner);
    }
    const stored = await this.repo.get(image.id);
    if (!stored) throw notFound(imageMissing(image.id));
    return stored;
  }

  private async inspectSafely(path: string): Promise<InspectedFile> {
    try {
      return await this.inspect(path);
    } catch (err) {
      const kind = (err as { kind?: string }).kind;
      const msg = err instanceof Error ? err.message : String(err);
      if (kind === 'missing') throw new CloudError('ServiceUnavailable', `The image service cannot inspect uploads: ${msg}.`, { cause: err });
      throw badRequest(`Image data could not be inspected as a disk image: ${msg}.`, { cause: err });
    }
  }

  /** What GET /file sends: nothing for an image without data, else the file and the byte range asked for. */
  async download(auth: AuthContext | undefined, id: string, rangeHeader: string | undefined): Promise<Download> {
    const c = caller(auth, 'read');
    const { image } = await this.fetch(c, id);
    if (image.status === 'deactivated' && !c.isAdmin) {
      throw forbidden('The requested image has been deactivated. Image data download is forbidden.');
    }
    if (image.status !== 'active' && image.status !== 'deactivated') return { kind: 'empty' };
    const size = await this.files.sizeOf(image.id);
    if (size === undefined) {
      this.log?.error({ imageId: image.id }, 'image store: an active image has no data file');
      return { kind: 'empty' };
    }
    return { kind: 'data', image, size, range: parseRange(rangeHeader, size), open: (start, end) => this.files.readRange(image.id, start, end) };
  }

  /**
   * Registers a local file as an image through the same path as an upload
   * (hashing, inspection, atomic rename). On failure nothing is left behind.
   * Returns the new image's id.
   */
  async createFromFile(opts: CreateFromFileOptions, source: Readable, size: number | undefined): Promise<string> {
    const now = nowIso();
    const image: Image = {
      id: opts.id === undefined ? uuid() : checkImageId(opts.id),
      name: opts.name,
      owner: opts.ownerProjectId,
      status: 'queued',
      visibility: opts.visibility ?? 'private',
      protected: false,
      os_hidden: false,
      disk_format: opts.diskFormat,
      container_format: opts.containerFormat ?? 'bare',
      size: null,
      virtual_size: null,
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      min_disk: opts.minDisk ?? 0,
      min_ram: opts.minRam ?? 0,
      created_at: now,
      updated_at: now,
      properties: { ...opts.properties },
      tags: [...(opts.tags ?? [])],
    };
    // The same rules as an API create, so a caller cannot register what a user could not.
    parseCreateBody({ ...image.properties, name: image.name, disk_format: image.disk_format, container_format: image.container_format, tags: image.tags, visibility: image.visibility });
    if (await this.repo.exists(image.id)) throw conflict(`An image with identifier ${image.id} already exists.`);
    await this.repo.insert(image);
    try {
      await this.receive(image, source, size);
      if (opts.protected) await this.repo.update(image.id, { protected: 1 });
    } catch (err) {
      await this.repo.delete(image.id);
      throw err;
    }
    return image.id;
  }
}
