/**
 * A deduplicating work queue of keys with per-key exponential backoff, in the
 * manner of client-go's rate-limited workqueue: a key is queued at most once;
 * a key added while it is being processed runs again right after; a failure
 * retries the key later with a growing delay, reset by the next success. The
 * same key is never processed twice at once, so a reconcile(key) may assume
 * it alone converges that object.
 */

export interface QueueOptions {
  /** Keys processed at once (different keys only). */
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export type ProcessResult = { requeueAfterMs?: number } | void;

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly process: (key: string) => Promise<ProcessResult>,
    private readonly onError: (key: string, err: unknown, attempt: number) => void = () => {},
    opts: QueueOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 1;
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
  }

  add(key: string): void {
    if (this.stopped) return;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t);
      this.timers.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.order.push(key);
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  /** Number of consecutive failures of a key (0 after a success). */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get length(): number {
    return this.pending.size;
  }

  /** Resolves once nothing is queued or running (delayed retries do not count). */
  idle(): Promise<void> {
    if (this.pending.size === 0 && this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
    this.order.length = 0;
  }

  private pump(): void {
    while (this.active.size < this.concurrency && this.order.length > 0) {
      const idx = this.order.findIndex((k) => !this.active.has(k));
      if (idx < 0) return;
      const [key] = this.order.splice(idx, 1) as [string];
      this.pending.delete(key);
      this.active.add(key);
      void this.run(key);
    }
    if (this.pending.size === 0 && this.active.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(key: string): Promise<void> {
    let retryAfter: number | undefined;
    try {
      const r = await this.process(key);
      this.failures.delete(key);
      if (r && r.requeueAfterMs !== undefined) retryAfter = r.requeueAfterMs;
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      retryAfter = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
      this.onError(key, err, n);
    } finally {
      this.active.delete(key);
    }
    if (this.dirty.delete(key)) this.add(key);
    else if (retryAfter !== undefined) this.addAfter(key, retryAfter);
    this.pump();
  }
}
