import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { startHash, type HashMode, type MultiHash } from './parallel-hash.js';
import { collectYoungGarbage } from './young-gc.js';

/**
 * A Writable that puts a byte stream into a file while hashing it, with
 * bounded memory: bytes are gathered into a small pool of shared blocks;
 * each full block is written at its offset and hashed by the hash threads
 * at the same time, and returns to the pool when all are done. When the
 * pool is empty, writes wait, which pauses the source (backpressure), so
 * a multi-gigabyte upload never holds more than poolSize × blockSize.
 */

export interface HashingWriterOptions {
  algos: string[];
  mode?: HashMode;
  /** The size announced by the client, if any (lets `auto` skip threads for small uploads). */
  expectedBytes?: number;
  blockSize?: number;
  poolSize?: number;
  /** The stream fails with tooLarge(bytes) as soon as more than this arrives. */
  maxBytes?: number;
  tooLarge?: (bytes: number) => Error;
  /** fdatasync before finishing, so a completed upload survives a power cut. */
  sync?: boolean;
  /** Scavenge after this many bytes (see young-gc.ts); 0 never. Default 8 MiB. */
  gcEvery?: number;
}

interface Block {
  sab: SharedArrayBuffer;
  buf: Buffer;
  len: number;
}

export class HashingFileWriter extends Writable {
  /** Bytes received so far. */
  bytes = 0;
  /** Hex digests by algorithm, set when the stream has finished. */
  digests: Record<string, string> = {};

  private readonly hash: MultiHash;
  private readonly free: Block[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private cur: Block | undefined;
  private offset = 0;
  private sinceGc = 0;
  private failure: Error | undefined;

  constructor(
    private readonly fh: FileHandle,
    private readonly opts: HashingWriterOptions,
  ) {
    super({ highWaterMark: 256 * 1024 });
    const blockSize = opts.blockSize ?? 1024 * 1024;
    for (let i = 0; i < (opts.poolSize ?? 8); i++) {
      const sab = new SharedArrayBuffer(blockSize);
      this.free.push({ sab, buf: Buffer.from(sab), len: 0 });
    }
    this.hash = startHash(opts.algos, opts.mode, opts.expectedBytes);
  }

  private async takeBlock(): Promise<Block> {
    for (;;) {
      if (this.failure) throw this.failure;
      const b = this.free.pop();
      if (b) {
        b.len = 0;
        return b;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private giveBack(b: Block): void {
    this.free.push(b);
    this.waiters.shift()?.();
  }

  private dispatch(b: Block): void {
    const at = this.offset;
    this.offset += b.len;
    const work = Promise.all([this.fh.write(b.buf, 0, b.len, at), this.hash.update(b.sab, b.len)]).then(
      () => this.giveBack(b),
      (err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        this.giveBack(b);
      },
    );
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  private async put(chunk: Buffer): Promise<void> {
    this.bytes += chunk.length;
    this.sinceGc += chunk.length;
    const gcEvery = this.opts.gcEvery ?? 8 * 1024 * 1024;
    if (gcEvery > 0 && this.sinceGc >= gcEvery) {
      this.sinceGc = 0;
      collectYoungGarbage();
    }
    if (this.opts.maxBytes !== undefined && this.bytes > this.opts.maxBytes) {
      throw this.opts.tooLarge?.(this.bytes) ?? new Error(`more than ${this.opts.maxBytes} bytes`);
    }
    let off = 0;
    while (off < chunk.length) {
      this.cur ??= await this.takeBlock();
      // Destroyed while waiting for a block: nothing more may reach the file.
      if (this.destroyed) throw this.failure ?? new Error('upload stream destroyed');
      const b = this.cur;
      const n = Math.min(b.buf.length - b.len, chunk.length - off);
      chunk.copy(b.buf, b.len, off, off + n);
      b.len += n;
      off += n;
      if (b.len === b.buf.length) {
        this.cur = undefined;
        this.dispatch(b);
      }
    }
    if (this.failure) throw this.failure;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.put(chunk).then(
      () => cb(),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    (async () => {
      for (const c of chunks) await this.put(c.chunk);
    })().then(
      () => cb(),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private async drain(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  override _final(cb: (err?: Error | null) => void): void {
    (async () => {
      if (this.cur && this.cur.len > 0) this.dispatch(this.cur);
      this.cur = undefined;
      await this.drain();
      if (this.failure) throw this.failure;
      this.digests = await this.hash.digest();
      if (this.opts.sync !== false) await this.fh.datasync();
      await this.fh.close();
    })().then(
      () => cb(),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.hash.abort();
    // Let writes already issued settle before closing, so none lands on a reused descriptor.
    this.drain()
      .catch(() => undefined)
      .then(() => this.fh.close())
      .catch(() => undefined)
      .then(() => cb(err));
  }
}
