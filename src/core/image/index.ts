import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { dataFiles } from '../../daemon/files.js';
import { qemuImgInfo } from '../../host/image/qemu-img.js';
import type { Db } from '../../store/db.js';
import { ImageFiles, type ImageFilesOptions } from '../../store/image/files.js';
import { ImageRepo } from '../../store/image/repo.js';
import type { AuthContext } from '../auth.js';
import { badRequest, conflict } from '../errors.js';
import { ImageService, type CreateFromFileOptions } from './service.js';
import type { Image, ImageUsage } from './types.js';

/**
 * The image service's public face for the rest of Stacklet. One service
 * per store (so quota accounting and the registered ImageUsage are
 * shared), built on first use from what every CloudContext has. The
 * wiring of store and host into core lives here, and only here.
 */

export { ImageService } from './service.js';
export type { CreateFromFileOptions, Download, ImagePage } from './service.js';
export type { Image, ImageMember, ImageUsage, Visibility } from './types.js';
export { NO_IMAGE_USAGE } from './types.js';
export { DISK_FORMATS, CONTAINER_FORMATS, type DiskFormat } from './formats.js';

/** The part of a CloudContext the image service needs. */
export interface ImageHostContext {
  store: { db: Db };
  cfg: { dataDir: string };
  log?: Logger;
  identity?: { repo: { getProject(id: string): Promise<unknown> } };
}

const services = new WeakMap<object, ImageService>();

/** Options for tests and benchmarks: how uploads hash and whether they fsync. */
export interface ImageServiceOptions {
  files?: ImageFilesOptions;
}

/**
 * Tuning knobs for the data path, read from the environment until the
 * daemon's config grows an image section: STACKLET_IMAGE_HASH=inline hashes
 * on the main thread (saves the two hash threads' ~20 MB, halves upload
 * speed), =workers always uses them, =auto (default) uses them for uploads
 * of 32 MiB and more; STACKLET_IMAGE_FSYNC=0 skips fdatasync of completed
 * uploads.
 */
export function imageFilesOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ImageFilesOptions {
  const out: ImageFilesOptions = {};
  const mode = env['STACKLET_IMAGE_HASH'];
  if (mode === 'inline' || mode === 'workers' || mode === 'auto') out.hashMode = mode;
  if (env['STACKLET_IMAGE_FSYNC'] === '0') out.sync = false;
  return out;
}

/** The image service of this cloud (created on first call). */
export function imageService(ctx: ImageHostContext, opts: ImageServiceOptions = {}): ImageService {
  let s = services.get(ctx.store);
  if (!s) {
    const identity = ctx.identity;
    s = new ImageService({
      repo: new ImageRepo(ctx.store.db),
      files: new ImageFiles(dataFiles(ctx.cfg.dataDir).images, opts.files ?? imageFilesOptionsFromEnv()),
      inspect: (path) => qemuImgInfo(path),
      ...(ctx.log ? { log: ctx.log } : {}),
      ...(identity ? { projectExists: async (id: string) => (await identity.repo.getProject(id)) !== undefined } : {}),
    });
    services.set(ctx.store, s);
  }
  return s;
}

/** Compute registers here what keeps an image from being deleted (its instances). */
export function registerImageUsage(ctx: ImageHostContext, usage: ImageUsage): void {
  imageService(ctx).usage = usage;
}

/**
 * Registers a local file as an image, through the same hashing and
 * inspection as an upload (bootstrap's `cirros`, compute's snapshots).
 * The file is copied, not moved. Returns the image id; on failure no image
 * and no data are left.
 */
export async function createImageFromFile(ctx: ImageHostContext, opts: CreateFromFileOptions): Promise<string> {
  const svc = imageService(ctx);
  await svc.files.ensureDir();
  let size: number;
  try {
    const st = await stat(opts.path);
    if (!st.isFile()) throw badRequest(`${opts.path} is not a regular file.`);
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw badRequest(`No file at ${opts.path}.`);
    throw err;
  }
  return svc.createFromFile(opts, createReadStream(opts.path, { highWaterMark: 1024 * 1024 }), size);
}

/**
 * What compute needs to boot from an image: the image as the caller may
 * see it (404 otherwise) and the path of its data file, which only the
 * image service writes. Refuses (409) an image that has no usable data:
 * queued, saving, deactivated (for non-admins, as downloads are).
 */
export async function imageForBoot(ctx: ImageHostContext, auth: AuthContext, imageId: string): Promise<{ image: Image; path: string }> {
  const svc = imageService(ctx);
  const { image } = await svc.fetch(auth, imageId);
  if (image.status !== 'active' && !(image.status === 'deactivated' && auth.isAdmin)) {
    throw conflict(`Image ${image.id} is ${image.status}; only an active image can be used.`);
  }
  return { image, path: svc.files.pathOf(image.id) };
}
