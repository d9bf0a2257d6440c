import type { ImageFile, InstanceSpec, KernelBoot, NicBinding } from '../../host/compute/driver.js';
import type { PortBinding } from '../../host/network/driver.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { flavorOf } from '../../core/compute/service.js';
import { configDriveOf } from '../../core/compute/metadata.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';

/** An image's data file as compute boots from it, with the properties that say how (kernel_id, ramdisk_id, os_command_line). */
export interface BootImage {
  file: ImageFile;
  properties: Record<string, unknown>;
}

/** What the compute controller needs of the image service. */
export interface ComputeImages {
  /** The data file of an image, whatever its visibility (the server was allowed to boot it when created); undefined when it has no data any more. */
  bootImage(imageId: string): Promise<BootImage | undefined>;
  /**
   * Stores a snapshot file as the image `snap.imageId`: the data of the
   * image the API reserved (queued until now), or a new image with that id
   * when none was reserved; the image becomes active. Done already is
   * success. The file is the caller's to remove afterwards.
   */
  uploadSnapshot(snap: SnapshotUpload, file: ImageFile): Promise<void>;
}

/** The snapshot image as the API asked for it (instance_snapshots). */
export interface SnapshotUpload {
  imageId: string;
  name: string;
  projectId: string;
  instanceId: string;
  properties: Record<string, string>;
}

/** The host binding of a port (tap on its bridge), or undefined while the network side has not made it yet. */
export type BindingFor = (portId: string) => Promise<PortBinding | undefined>;

/** Why a spec cannot be built yet, or at all. */
export type SpecResult = { spec: InstanceSpec } | { waitFor: string } | { invalid: string };

/** Kernel command line when an AMI-style image does not say (serial console, root on the first virtio disk). */
const DEFAULT_CMDLINE = 'console=ttyS0 root=/dev/vda rw';

function propString(props: Record<string, unknown>, key: string): string | undefined {
  const v = props[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Builds the instance spec of a server from the store: flavor (the one a
 * resize moves to when `flavorJson` says so), root disk on its image,
 * direct kernel boot for images naming kernel_id/ramdisk_id, NICs from the
 * server's ports, config drive from the metadata module.
 */
export async function buildSpec(core: ComputeCore, images: ComputeImages, bindingFor: BindingFor, s: InstanceRow, flavorJson: string = s.flavor): Promise<SpecResult> {
  const f = flavorOf({ flavor: flavorJson });
  const image = await images.bootImage(s.image_id);
  if (!image) return { invalid: `Image ${s.image_id} of the server has no data (deleted or never uploaded); rebuild the server from an active image.` };
  let kernel: KernelBoot | undefined;
  const kernelId = propString(image.properties, 'kernel_id');
  if (kernelId !== undefined) {
    const k = await images.bootImage(kernelId);
    if (!k) return { invalid: `Kernel image ${kernelId} named by image ${s.image_id} has no data; upload it or clear the image's kernel_id.` };
    kernel = { kernel: k.file.path, cmdline: propString(image.properties, 'os_command_line') ?? DEFAULT_CMDLINE };
    const ramdiskId = propString(image.properties, 'ramdisk_id');
    if (ramdiskId !== undefined) {
      const r = await images.bootImage(ramdiskId);
      if (!r) return { invalid: `Ramdisk image ${ramdiskId} named by image ${s.image_id} has no data; upload it or clear the image's ramdisk_id.` };
      kernel.ramdisk = r.file.path;
    }
  }
  const ports = (await core.instances.portsOf([s.id])).get(s.id) ?? [];
  const nics: NicBinding[] = [];
  for (const p of ports) {
    const b = await bindingFor(p.port_id);
    if (!b) return { waitFor: `port ${p.port_id}` };
    nics.push({ portId: p.port_id, tap: b.tap, mac: b.mac, mtu: b.mtu });
  }
  const spec: InstanceSpec = {
    id: s.id,
    name: s.name,
    memoryMiB: f.ram,
    vcpus: f.vcpus,
    rootDisk: f.disk > 0 ? { image: image.file, sizeGiB: f.disk } : { image: image.file },
    nics,
  };
  if (kernel) spec.kernel = kernel;
  if (s.config_drive) spec.configDrive = await configDriveOf(core, s);
  return { spec };
}
