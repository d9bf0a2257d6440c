/**
 * A controller converges one kind of object: it re-reads desired state from
 * the store and actual state from the host every time (level-based, as in
 * Kubernetes' sample-controller), so running it twice, or after a crash, or
 * after a reboot wiped the host, gives the same result.
 */
export interface Controller {
  /** The change-event kind(s) that wake this controller. */
  readonly kinds: readonly string[];
  readonly name: string;
  /** Every key that should be converged now (a full pass at start-up and on resync). */
  listKeys(): Promise<string[]>;
  /**
   * Converges one object. Throwing retries with backoff; return
   * `{requeueAfterMs}` to look again later (e.g. waiting for a guest).
   */
  reconcile(key: string): Promise<{ requeueAfterMs?: number } | void>;
  /** Maps a change event (kind, id) to the keys this controller must look at. */
  keysFor?(kind: string, id: string): Promise<string[]> | string[];
  /** Removes what carries our prefix but nobody owns (leaked taps, namespaces, VMs). */
  collectGarbage?(): Promise<void>;
  /** Keys processed at once. */
  readonly concurrency?: number;
}

/** A failure that retrying cannot fix; the controller marks the object ERROR with this message. */
export class TerminalError extends Error {
  override name = 'TerminalError';
}
