import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { HashReply, HashRequest } from './hash-worker.js';

/**
 * Hashes a stream of shared-memory blocks with several algorithms at once,
 * one worker thread per algorithm, so that md5 + sha512 cost the wall time
 * of the slower one instead of the sum. Falls back to hashing on the
 * calling thread when asked to (or when workers cannot start).
 */

/** How long an idle hash thread lives. */
const IDLE_MS = 10_000;

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

class AlgoWorker {
  private readonly worker: Worker;
  private readonly acks = new Map<string, Pending>();
  private readonly digests = new Map<number, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  private readonly sessions = new Set<number>();
  private idleTimer: NodeJS.Timeout | undefined;
  dead: Error | undefined;

  constructor(readonly algo: string) {
    // The thread only hashes shared memory and posts small messages: a small
    // young generation (V8's default semi-space is 16 MB) keeps it a few MB.
    this.worker = new Worker(new URL('./hash-worker.js', import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    });
    this.worker.unref();
    this.worker.on('message', (m: HashReply) => this.onMessage(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`hash worker (${algo}) exited with ${code}`)));
  }

  private onMessage(m: HashReply): void {
    if (m.t === 'ack') {
      const key = `${m.s}:${m.seq}`;
      this.acks.get(key)?.resolve();
      this.acks.delete(key);
    } else if (m.t === 'digest') {
      this.digests.get(m.s)?.resolve(m.hex);
      this.digests.delete(m.s);
      this.release(m.s);
    } else {
      const err = new Error(`hashing failed: ${m.message}`);
      for (const [k, p] of this.acks) if (k.startsWith(`${m.s}:`)) p.reject(err);
      this.digests.get(m.s)?.reject(err);
      this.digests.delete(m.s);
      this.release(m.s);
    }
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.acks.values()) p.reject(err);
    for (const p of this.digests.values()) p.reject(err);
    this.acks.clear();
    this.digests.clear();
    this.sessions.clear();
    this.worker.unref();
  }

  private post(m: HashRequest): void {
    this.worker.postMessage(m);
  }

  // The worker is unref'd while idle so it never keeps the process alive, and ref'd while a session waits on it.
  private hold(s: number): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.sessions.size === 0) this.worker.ref();
    this.sessions.add(s);
  }
  private release(s: number): void {
    if (!this.sessions.delete(s) || this.sessions.size > 0) return;
    this.worker.unref();
    // An idle thread still holds ~10 MB; end it after a quiet spell (the next upload starts another).
    this.idleTimer = setTimeout(() => this.retire(), IDLE_MS);
    this.idleTimer.unref();
  }

  private retire(): void {
    if (this.sessions.size > 0) return;
    this.dead ??= new Error('hash worker retired');
    if (workers.get(this.algo) === this) workers.delete(this.algo);
    void this.worker.terminate();
  }

  begin(s: number): void {
    this.hold(s);
    this.post({ t: 'begin', s, algo: this.algo });
  }

  update(s: number, seq: number, buf: SharedArrayBuffer, len: number): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.acks.set(`${s}:${seq}`, { resolve, reject });
      this.post({ t: 'data', s, seq, buf, len });
    });
  }

  end(s: number): Promise<string> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.digests.set(s, { resolve, reject });
      this.post({ t: 'end', s });
    });
  }

  abort(s: number): void {
    if (!this.dead) this.post({ t: 'abort', s });
    this.release(s);
  }
}

const workers = new Map<string, AlgoWorker>();
let nextSession = 1;

function workerFor(algo: string): AlgoWorker {
  let w = workers.get(algo);
  if (!w || w.dead) {
    w = new AlgoWorker(algo);
    workers.set(algo, w);
  }
  return w;
}

/** workers: one thread per algorithm; inline: the calling thread; auto: inline below 32 MiB (no thread start-up for small images). */
export type HashMode = 'workers' | 'inline' | 'auto';

/** Below this many bytes `auto` hashes inline. */
export const AUTO_INLINE_BELOW = 32 * 1024 * 1024;

/** One running multi-algorithm hash over a sequence of blocks. */
export interface MultiHash {
  /** Hashes buf[0, len); resolves when the block may be reused. Blocks are hashed in call order. */
  update(buf: SharedArrayBuffer, len: number): Promise<void>;
  /** Hex digests by algorithm. */
  digest(): Promise<Record<string, string>>;
  abort(): void;
}

class WorkerHash implements MultiHash {
  private readonly s = nextSession++;
  private seq = 0;
  private done = false;
  private readonly ws: AlgoWorker[];

  constructor(readonly algos: string[]) {
    this.ws = algos.map(workerFor);
    for (const w of this.ws) w.begin(this.s);
  }
  update(buf: SharedArrayBuffer, len: number): Promise<void> {
    const seq = this.seq++;
    return Promise.all(this.ws.map((w) => w.update(this.s, seq, buf, len))).then(() => undefined);
  }
  async digest(): Promise<Record<string, string>> {
    this.done = true;
    const hexes = await Promise.all(this.ws.map((w) => w.end(this.s)));
    return Object.fromEntries(this.algos.map((a, i) => [a, hexes[i] ?? '']));
  }
  abort(): void {
    if (this.done) return;
    this.done = true;
    for (const w of this.ws) w.abort(this.s);
  }
}

class InlineHash implements MultiHash {
  private readonly hs: Hash[];
  constructor(readonly algos: string[]) {
    this.hs = algos.map((a) => createHash(a));
  }
  async update(buf: SharedArrayBuffer, len: number): Promise<void> {
    const view = new Uint8Array(buf, 0, len);
    for (const h of this.hs) h.update(view);
  }
  async digest(): Promise<Record<string, string>> {
    return Object.fromEntries(this.algos.map((a, i) => [a, this.hs[i]?.digest('hex') ?? '']));
  }
  abort(): void {}
}

/** Starts hashing with `algos`; `workers` mode spreads the algorithms over threads. `expectedBytes` guides `auto`. */
export function startHash(algos: string[], mode: HashMode = 'auto', expectedBytes?: number): MultiHash {
  if (mode === 'inline' || (mode === 'auto' && expectedBytes !== undefined && expectedBytes < AUTO_INLINE_BELOW)) return new InlineHash(algos);
  try {
    return new WorkerHash(algos);
  } catch {
    return new InlineHash(algos);
  }
}
