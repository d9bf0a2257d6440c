import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, Transform, type Readable } from 'node:stream';
import { HashingFileWriter } from './hashing-writer.js';
import type { HashMode } from './parallel-hash.js';
import { collectYoungGarbage } from './young-gc.js';

/**
 * Image data on disk: one file per image, named by its id, in the images
 * directory. An upload goes to a hidden temp file in the same directory
 * and becomes the image's file only by an atomic rename once it is
 * complete and verified; a failed upload removes its temp file.
 */

export interface ImageFilesOptions {
  hashMode?: HashMode;
  /** fdatasync completed uploads (default true). */
  sync?: boolean;
}

export interface ReceiveLimits {
  /** The announced size, if any. */
  expectedBytes?: number;
  maxBytes?: number;
  tooLarge?: (bytes: number) => Error;
}

/** A completely received upload, not yet the image's file. */
export interface Received {
  tmpPath: string;
  size: number;
  md5: string;
  sha512: string;
}

const IMAGE_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TEMP_FILE = /^\.[0-9a-f-]{36}\.[0-9a-f]+\.part$/;

/** The stream ended before all its bytes arrived (the client went away). */
export class UploadInterrupted extends Error {
  override name = 'UploadInterrupted';
}

export class ImageFiles {
  constructor(
    readonly dir: string,
    readonly opts: ImageFilesOptions = {},
  ) {}

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  pathOf(id: string): string {
    if (!IMAGE_FILE.test(id)) throw new Error(`not an image id: ${id}`);
    return join(this.dir, id);
  }

  /**
   * Streams `source` into a new temp file, hashing as it goes (md5 and
   * sha512). Resolves when every byte is on disk; on any failure (source
   * cut, limit, disk) the temp file is gone and the error is rethrown.
   */
  async receive(id: string, source: Readable, limits: ReceiveLimits = {}): Promise<Received> {
    this.pathOf(id);
    const tmpPath = join(this.dir, `.${id}.${randomBytes(6).toString('hex')}.part`);
    const fh = await open(tmpPath, 'wx', 0o600);
    const writer = new HashingFileWriter(fh, {
      algos: ['md5', 'sha512'],
      mode: this.opts.hashMode ?? 'auto',
      expectedBytes: limits.expectedBytes,
      maxBytes: limits.maxBytes,
      tooLarge: limits.tooLarge,
      sync: this.opts.sync,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const fail = (err: Error) => {
          if (settled) return;
          settled = true;
          source.unpipe(writer);
          writer.destroy();
          reject(err);
        };
        finished(source, (err) => {
          if (err) fail(new UploadInterrupted(`the upload stopped after ${writer.bytes} bytes: ${err.message}`));
        });
        writer.on('error', fail);
        writer.on('finish', () => {
          if (!settled) {
            settled = true;
            resolve();
          }
        });
        source.pipe(writer);
      });
    } catch (err) {
      await new Promise<void>((r) => (writer.destroyed ? r() : writer.once('close', () => r())));
      await rm(tmpPath, { force: true });
      throw err;
    }
    return { tmpPath, size: writer.bytes, md5: writer.digests['md5'] ?? '', sha512: writer.digests['sha512'] ?? '' };
  }

  /** Makes a received temp file the image's data (atomic rename, then the directory entry is synced). */
  async commit(tmpPath: string, id: string): Promise<void> {
    await rename(tmpPath, this.pathOf(id));
    if (this.opts.sync !== false) {
      const dh = await open(this.dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    }
  }

  async discard(tmpPath: string): Promise<void> {
    await rm(tmpPath, { force: true });
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }

  /** Size of an image's file, or undefined when it has none. */
  async sizeOf(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(id))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Opens an image's file for reading; undefined when it has none. */
  async openRead(id: string): Promise<FileHandle | undefined> {
    try {
      return await open(this.pathOf(id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * A stream of bytes start..end (inclusive) of an image's file; undefined
   * when it has none. Read chunks are scavenged as they go, as on upload.
   */
  async readRange(id: string, start: number, end: number): Promise<Readable | undefined> {
    const fh = await this.openRead(id);
    if (!fh) return undefined;
    const src = fh.createReadStream({ start, end, highWaterMark: 1024 * 1024, autoClose: true });
    let since = 0;
    const out = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        since += chunk.length;
        if (since >= 8 * 1024 * 1024) {
          since = 0;
          collectYoungGarbage();
        }
        cb(null, chunk);
      },
    });
    src.on('error', (err) => out.destroy(err));
    out.on('close', () => src.destroy());
    return src.pipe(out);
  }

  /**
   * Removes what nobody owns: temp files of uploads a crash interrupted and
   * files of images that no longer keep data. Only names this class makes
   * are touched.
   */
  async sweep(keep: Set<string>): Promise<string[]> {
    await this.ensureDir();
    const removed: string[] = [];
    for (const name of await readdir(this.dir)) {
      if (TEMP_FILE.test(name) || (IMAGE_FILE.test(name) && !keep.has(name))) {
        await rm(join(this.dir, name), { force: true });
        removed.push(name);
      }
    }
    return removed;
  }
}
