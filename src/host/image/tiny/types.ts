/** Options for {@link buildTinyGuest}. */
export interface BuildTinyGuestOptions {
  /** Directory that holds downloaded packages and built artifacts; created if missing. */
  cacheDir: string;
  /** Called with a human-readable line at each build step. */
  onProgress?: (step: string) => void;
  /** Rebuild even when a build with the same inputs is cached. */
  force?: boolean;
}

/** Byte sizes of the built artifacts. */
export interface TinyGuestSizes {
  kernel: number;
  initramfs: number;
  /** Bytes the disk image file takes (qcow2: allocated clusters, not the virtual size). */
  disk: number;
  /** Virtual size of the disk as the guest sees it. */
  diskVirtual: number;
  /** Uncompressed initramfs (cpio) size. */
  initramfsUnpacked: number;
}

/** A built tiny guest: absolute paths inside the cache directory. */
export interface TinyGuest {
  /** LZ4-compressed bzImage for direct kernel boot (`-kernel`). */
  kernel: string;
  /** LZ4 (legacy frame) compressed newc cpio for direct kernel boot (`-initrd`). */
  initramfs: string;
  /** Bootable BIOS disk (MBR + FAT + SYSLINUX) holding the same kernel and initramfs. */
  disk: string;
  diskFormat: 'qcow2' | 'raw';
  /** Kernel command line for direct boot; the disk's SYSLINUX config uses the same one. */
  cmdline: string;
  /** Hash of everything the build depends on; names the build directory. */
  inputsHash: string;
  sizes: TinyGuestSizes;
  /** Kernel release (`uname -r` in the guest), e.g. 6.1.0-56-cloud-amd64. */
  kernelRelease: string;
  /** Debian package name → version that went into the build. */
  packages: Record<string, string>;
}

/** A file tree to be packed into an initramfs. Paths are absolute inside the guest. */
export type TreeEntry =
  | { kind: 'dir'; mode: number; uid?: number }
  | { kind: 'file'; mode: number; data: Buffer }
  | { kind: 'symlink'; target: string }
  | { kind: 'chardev'; mode: number; major: number; minor: number };
