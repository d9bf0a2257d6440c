import type { Logger } from 'pino';
import type { Controller } from './controller.js';
import { WorkQueue } from './queue.js';

export type PassKind = 'startup' | 'resync';

export interface ManagerOptions {
  /** Slow periodic resync that repairs drift; 0 disables it. */
  resyncMs?: number;
  /** Runs before each resync (e.g. the drivers forget cached host state, so drift is seen). */
  beforeResync?: () => Promise<void>;
  /** Hears the end of every full pass (start-up or resync), once its queues were idle and garbage was collected. */
  onPass?: (kind: PassKind, ms: number) => void;
}

interface Entry {
  controller: Controller;
  queue: WorkQueue;
}

/**
 * Runs the controllers: a full pass at start-up in dependency order (the
 * order given), then reacts to change events, plus a periodic resync that
 * re-queues every key and collects garbage. Failures are kept as warnings an
 * operator can read in `stacklet status`, never fatal to the process.
 */
export class ReconcileManager {
  private readonly entries: Entry[];
  private timer: NodeJS.Timeout | undefined;
  private resyncing: Promise<void> | null = null;
  readonly warnings = new Map<string, string>();

  constructor(
    controllers: Controller[],
    private readonly log: Logger,
    private readonly opts: ManagerOptions = {},
  ) {
    this.entries = controllers.map((controller) => ({
      controller,
      queue: new WorkQueue(
        async (key) => {
          const r = await controller.reconcile(key);
          this.warnings.delete(`${controller.name}/${key}`);
          return r;
        },
        (key, err, attempt) => {
          const msg = err instanceof Error ? err.message : String(err);
          this.warnings.set(`${controller.name}/${key}`, msg);
          log.warn({ controller: controller.name, key, attempt, err: msg }, 'reconcile failed; will retry');
        },
        controller.concurrency === undefined ? {} : { concurrency: controller.concurrency },
      ),
    }));
  }

  /** The start-up pass: every key of every controller, in order, then garbage collection. */
  async fullPass(): Promise<void> {
    const t0 = performance.now();
    for (const { controller, queue } of this.entries) {
      const keys = await controller.listKeys();
      for (const k of keys) queue.add(k);
      await queue.idle();
    }
    await this.collectGarbage();
    this.opts.onPass?.('startup', performance.now() - t0);
  }

  start(): void {
    const every = this.opts.resyncMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.resync().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'resync failed'));
      }, every);
      this.timer.unref();
    }
  }

  /**
   * Re-queues everything, waits for the queues, then collects garbage
   * (drift repair). A resync asked for while one runs joins it: with a
   * short interval on a slow host, passes must not pile up.
   */
  resync(): Promise<void> {
    if (!this.resyncing) {
      this.resyncing = this.resyncNow().finally(() => {
        this.resyncing = null;
      });
    }
    return this.resyncing;
  }

  private async resyncNow(): Promise<void> {
    const t0 = performance.now();
    if (this.opts.beforeResync) {
      try {
        await this.opts.beforeResync();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'resync could not refresh the host state');
      }
    }
    for (const { controller, queue } of this.entries) {
      try {
        for (const k of await controller.listKeys()) queue.add(k);
      } catch (err) {
        this.log.warn({ controller: controller.name, err: (err as Error).message }, 'resync could not list keys');
      }
    }
    await this.idle();
    await this.collectGarbage();
    this.opts.onPass?.('resync', performance.now() - t0);
  }

  private async collectGarbage(): Promise<void> {
    for (const { controller } of this.entries) {
      if (!controller.collectGarbage) continue;
      try {
        await controller.collectGarbage();
      } catch (err) {
        this.warnings.set(`${controller.name}/gc`, (err as Error).message);
        this.log.warn({ controller: controller.name, err: (err as Error).message }, 'garbage collection failed');
      }
    }
  }

  /** A change event from the store: wake every controller that watches this kind. */
  notify(kind: string, id: string): void {
    for (const { controller, queue } of this.entries) {
      if (!controller.kinds.includes(kind)) continue;
      if (!controller.keysFor) {
        queue.add(id);
        continue;
      }
      Promise.resolve(controller.keysFor(kind, id))
        .then((keys) => keys.forEach((k) => queue.add(k)))
        .catch((err: unknown) => this.log.warn({ controller: controller.name, kind, id, err: (err as Error).message }, 'keysFor failed'));
    }
  }

  /** Resolves when every queue is idle (tests and benchmarks). */
  async idle(): Promise<void> {
    for (;;) {
      await Promise.all(this.entries.map((e) => e.queue.idle()));
      if (this.entries.every((e) => e.queue.length === 0)) return;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const e of this.entries) e.queue.stop();
  }
}
