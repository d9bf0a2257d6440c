/**
 * Disk and container formats Glance accepts, and what qemu-img must find in
 * the bytes for each declared disk format. The check is what keeps a user
 * from uploading a qcow2 that points at a host file (backing file, external
 * data file) while calling it something harmless.
 */

/** Glance's default `disk_formats`. */
export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];

/** Glance's default `container_formats`. */
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] as const;
export type ContainerFormat = (typeof CONTAINER_FORMATS)[number];

/** The qemu-img format name each declared disk format must probe as. */
export const QEMU_FORMAT: Record<DiskFormat, string> = {
  raw: 'raw',
  iso: 'raw',
  ami: 'raw',
  aki: 'raw',
  ari: 'raw',
  qcow2: 'qcow2',
  vmdk: 'vmdk',
  vdi: 'vdi',
  vhd: 'vpc',
  vhdx: 'vhdx',
  ploop: 'parallels',
};

/** Glance's own names for qemu-img's, for messages that speak the user's language. */
const GLANCE_NAME: Record<string, string> = { vpc: 'vhd', parallels: 'ploop' };

/** vmdk subformats that keep all data in the one file (Glance's default vmdk_allowed_types). */
const VMDK_SINGLE_FILE = new Set(['streamOptimized', 'monolithicSparse']);

export function isDiskFormat(v: unknown): v is DiskFormat {
  return typeof v === 'string' && (DISK_FORMATS as readonly string[]).includes(v);
}

export function isContainerFormat(v: unknown): v is ContainerFormat {
  return typeof v === 'string' && (CONTAINER_FORMATS as readonly string[]).includes(v);
}

/** The facts of an inspection the verdict needs (a subset of host/image/qemu-img's QemuImgInfo). */
export interface InspectedFile {
  format: string;
  virtualSize: number;
  backingFilename: string | undefined;
  dataFile: string | undefined;
  vmdkCreateType: string | undefined;
  vmdkExtents: string[];
  corrupt: boolean;
}

export type Verdict = { ok: true; virtualSize: number } | { ok: false; reason: string };

/**
 * Decides whether the uploaded bytes are what the image says they are, and
 * safe to hand to qemu later. The reason is written for the person who
 * uploaded, with what to do next.
 */
export function judgeInspection(declared: DiskFormat, found: InspectedFile): Verdict {
  const want = QEMU_FORMAT[declared];
  if (found.format !== want) {
    const foundName = GLANCE_NAME[found.format] ?? found.format;
    return {
      ok: false,
      reason:
        `Image data does not match its disk_format: it was declared ${declared} but the data is ${foundName}. ` +
        `Create the image with --disk-format ${foundName === 'raw' ? 'raw' : foundName}, or convert the file (qemu-img convert -O ${want}).`,
    };
  }
  if (found.backingFilename !== undefined) {
    return {
      ok: false,
      reason:
        `Image data is a ${declared} with a backing file (${found.backingFilename}); images must be self-contained. ` +
        'Flatten it first: qemu-img convert -O qcow2 <file> <flat file>.',
    };
  }
  if (found.dataFile !== undefined) {
    return {
      ok: false,
      reason:
        `Image data is a qcow2 with an external data file (${found.dataFile}); images must be self-contained. ` +
        'Convert it first: qemu-img convert -O qcow2 <file> <new file>.',
    };
  }
  if (declared === 'vmdk' && (found.vmdkCreateType === undefined || !VMDK_SINGLE_FILE.has(found.vmdkCreateType))) {
    return {
      ok: false,
      reason: `Image data is a vmdk of type ${found.vmdkCreateType ?? 'unknown'}; only streamOptimized and monolithicSparse (single-file) vmdk images are accepted.`,
    };
  }
  if (found.corrupt) {
    return { ok: false, reason: `Image data is a ${declared} marked corrupt; repair it (qemu-img check -r all) and upload again.` };
  }
  if (!Number.isSafeInteger(found.virtualSize) || found.virtualSize < 0) {
    return { ok: false, reason: `Image data reports an impossible virtual size (${String(found.virtualSize)}).` };
  }
  return { ok: true, virtualSize: found.virtualSize };
}
