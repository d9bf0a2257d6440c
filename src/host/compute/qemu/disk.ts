import { rename, rm, stat } from 'node:fs/promises';
import type { ImageFile } from '../driver.js';
import { ComputeError } from '../errors.js';
import { run } from './exec.js';

/**
 * Instance disks with qemu-img: a qcow2 overlay whose backing file is the
 * (read-only) image, and flattening an overlay into a new image for
 * snapshots. The backing format is always given (-F), never probed: a raw
 * image whose bytes look like a qcow2 header must stay raw.
 */

const GIB = 1024 ** 3;

/** The virtual size of an image in bytes, as qemu-img reads it with the stated format. */
export async function imageVirtualSize(image: ImageFile): Promise<number> {
  const { stdout } = await run(['qemu-img', 'info', '--output=json', '-f', image.format, image.path], { timeoutMs: 30_000 });
  const info = JSON.parse(stdout) as { 'virtual-size'?: unknown };
  const size = info['virtual-size'];
  if (typeof size !== 'number') throw new ComputeError('HostFailure', `qemu-img info gave no virtual size for ${image.path}`);
  return size;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Creates the overlay unless it exists; resolves true when it created it.
 * sizeGiB larger than the image grows the disk the guest sees; 0 or absent
 * keeps the image's size; smaller than the image is refused (the data
 * would not fit), as Nova refuses an image larger than the flavor's disk.
 */
export async function ensureOverlay(overlay: string, image: ImageFile, sizeGiB?: number): Promise<boolean> {
  if (await exists(overlay)) return false;
  if (!(await exists(image.path))) throw new ComputeError('InvalidSpec', `image file ${image.path} does not exist`);
  const virtual = await imageVirtualSize(image);
  const want = sizeGiB ? sizeGiB * GIB : 0;
  if (want && want < virtual) {
    throw new ComputeError('InvalidSpec', `the image is ${Math.ceil(virtual / GIB)} GiB, larger than the ${sizeGiB} GiB root disk asked for`);
  }
  const tmp = `${overlay}.tmp`;
  await rm(tmp, { force: true });
  const argv = ['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', image.format, '-b', image.path, tmp];
  if (want > virtual) argv.push(String(want));
  await run(argv, { timeoutMs: 30_000 });
  await rename(tmp, overlay);
  return true;
}

/**
 * Flattens src (an overlay with its backing chain) into dest in dest's
 * format. forceShare reads an image a running QEMU holds open: only safe
 * while that guest is paused (QEMU flushes when it stops the vCPUs).
 */
export async function flattenDisk(src: string, dest: ImageFile, forceShare: boolean): Promise<void> {
  const tmp = `${dest.path}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  try {
    const argv = ['qemu-img', 'convert', ...(forceShare ? ['-U'] : []), '-f', 'qcow2', '-O', dest.format, src, tmp];
    await run(argv, { timeoutMs: 30 * 60_000 });
    await rename(tmp, dest.path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
