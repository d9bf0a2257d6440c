import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { AuthContext } from '../../core/auth.js';
import { createImageFromFile, imageService, type ImageHostContext } from '../../core/image/index.js';
import type { ImageFile } from '../../host/compute/driver.js';
import { TerminalError } from '../controller.js';
import type { BootImage, ComputeImages, SnapshotUpload } from './spec.js';

/** Disk formats QEMU reads as they are (AMI-style kernel, ramdisk and machine images are raw files). */
const RAW_LIKE = new Set(['raw', 'ami', 'aki', 'ari', 'iso']);

/** The reconciler acting for the snapshot's project (it writes the data of an image that project owns). */
function systemAuth(projectId: string): AuthContext {
  return {
    token: '',
    userId: 'stacklet-compute',
    userName: 'stacklet-compute',
    userDomainId: 'default',
    userDomainName: 'Default',
    projectId,
    projectName: projectId,
    roles: [{ id: 'admin', name: 'admin' }],
    methods: [],
    auditIds: [],
    issuedAt: '',
    expiresAt: '',
    isAdmin: true,
    isMember: true,
    isReader: true,
  };
}

/**
 * The image service as the compute controller uses it: data files to boot
 * from (active or deactivated images: a server created from an image keeps
 * booting after an admin deactivates it) and snapshot uploads through the
 * same hashing and inspection as a user's upload.
 */
export function computeImagesFrom(ctx: ImageHostContext): ComputeImages {
  return {
    async bootImage(imageId: string): Promise<BootImage | undefined> {
      const svc = imageService(ctx);
      const image = await svc.repo.get(imageId);
      if (!image || (image.status !== 'active' && image.status !== 'deactivated')) return undefined;
      const fmt = image.disk_format ?? 'raw';
      let format: ImageFile['format'];
      if (fmt === 'qcow2') format = 'qcow2';
      else if (RAW_LIKE.has(fmt)) format = 'raw';
      else {
        throw new TerminalError(
          `Image ${imageId} is in disk format ${fmt}; servers boot raw and qcow2 images. Convert it (qemu-img convert -O qcow2 in.${fmt} out.qcow2), upload it as a new image and rebuild the server from that.`,
        );
      }
      return { file: { path: svc.files.pathOf(image.id), format }, properties: { ...image.properties } };
    },

    async uploadSnapshot(snap: SnapshotUpload, file: ImageFile): Promise<void> {
      const svc = imageService(ctx);
      const existing = await svc.repo.get(snap.imageId);
      if (existing && existing.status !== 'queued') {
        if (existing.status === 'active') return;
        throw new Error(`Snapshot image ${snap.imageId} is ${existing.status}; it can no longer take the snapshot's data.`);
      }
      if (existing) {
        const size = (await stat(file.path)).size;
        await svc.upload(systemAuth(existing.owner ?? snap.projectId), snap.imageId, createReadStream(file.path, { highWaterMark: 1024 * 1024 }), size);
        return;
      }
      await createImageFromFile(ctx, {
        id: snap.imageId,
        name: snap.name,
        diskFormat: file.format,
        containerFormat: 'bare',
        ownerProjectId: snap.projectId,
        properties: snap.properties,
        path: file.path,
      });
    },
  };
}
