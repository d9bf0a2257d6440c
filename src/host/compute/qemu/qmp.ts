import { createConnection, type Socket } from 'node:net';

/**
 * A QMP client: JSON messages over QEMU's unix socket, one per line. After
 * the greeting and `qmp_capabilities`, every command carries an id and its
 * answer is matched by that id; anything with an `event` key is an
 * asynchronous event (SHUTDOWN, STOP, RESUME, RESET, DEVICE_DELETED...).
 *
 * QEMU serves one QMP client per monitor at a time: connect, do the work,
 * close. The driver serialises its own use per instance.
 */

/** An asynchronous QMP event. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** Why a QMP exchange failed. `CommandFailed` carries QEMU's error class (e.g. GenericError, DeviceNotFound). */
export type QmpErrorKind = 'ConnectFailed' | 'Timeout' | 'Closed' | 'Protocol' | 'CommandFailed';

/** A failed QMP exchange. */
export class QmpError extends Error {
  override name = 'QmpError';
  constructor(
    readonly kind: QmpErrorKind,
    message: string,
    /** QEMU's error class for CommandFailed. */
    readonly qmpClass?: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Options for {@link QmpClient.connect}. */
export interface QmpConnectOptions {
  /** For connecting, reading the greeting and negotiating capabilities. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
/** A QMP line is small; anything this long is not QEMU talking. */
const MAX_LINE = 8 * 1024 * 1024;

/** One QMP session. */
export class QmpClient {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private greeting: ((v: unknown) => void) | undefined;
  private closedErr: QmpError | undefined;
  /** Resolves when the socket has closed (QEMU exited, or close() was called). */
  readonly closed: Promise<void>;
  /** QEMU's version from the greeting, e.g. "7.2.22". */
  version = '';

  private constructor(private readonly sock: Socket) {
    let onClosed: () => void = () => undefined;
    this.closed = new Promise((r) => (onClosed = r));
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.fail(new QmpError('Closed', 'QMP connection closed'));
      onClosed();
    });
  }

  /** Connects to a QMP socket, reads the greeting and enters command mode. */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new QmpError('Timeout', `no QMP connection on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new QmpError('ConnectFailed', `cannot connect to QMP socket ${path}: ${err.code ?? err.message}`, undefined, { cause: err }));
      });
    });
    const client = new QmpClient(sock);
    try {
      const hello = await client.waitGreeting(timeoutMs);
      client.version = versionOf(hello);
      await client.execute('qmp_capabilities', undefined, { timeoutMs });
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /** Runs one command and resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    const id = `sl-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpError('Timeout', `QMP ${command} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Calls fn for every event until the returned function is called. */
  onEvent(fn: (e: QmpEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Resolves with the first event named `name` (and matching `match`) that
   * arrives from now on; rejects on timeout or when the connection closes.
   */
  waitEvent(name: string, timeoutMs: number, match: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        off();
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(new QmpError('Timeout', `no QMP ${name} event within ${timeoutMs} ms`))), timeoutMs);
      const off = this.onEvent((e) => {
        if (e.event === name && match(e)) finish(() => resolve(e));
      });
      void this.closed.then(() => finish(() => reject(new QmpError('Closed', `QMP connection closed while waiting for ${name}`))));
    });
  }

  /** Closes the session (QEMU keeps running). */
  close(): void {
    this.sock.destroy();
  }

  private waitGreeting(timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.greeting = undefined;
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(new QmpError('Timeout', `no QMP greeting within ${timeoutMs} ms`))), timeoutMs);
      this.greeting = (v) => finish(() => resolve(v));
      void this.closed.then(() => finish(() => reject(new QmpError('Closed', 'QMP connection closed before the greeting'))));
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    if (this.buf.length > MAX_LINE) {
      this.fail(new QmpError('Protocol', 'QMP sent an over-long line'));
      this.sock.destroy();
      return;
    }
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.fail(new QmpError('Protocol', `QMP sent something that is not JSON: ${line.slice(0, 200)}`));
      this.sock.destroy();
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if ('QMP' in m) {
      this.greeting?.(m['QMP']);
      return;
    }
    if (typeof m['event'] === 'string') {
      const ev: QmpEvent = { event: m['event'] };
      if (typeof m['data'] === 'object' && m['data'] !== null) ev.data = m['data'] as Record<string, unknown>;
      if (typeof m['timestamp'] === 'object' && m['timestamp'] !== null) ev.timestamp = m['timestamp'] as QmpEvent['timestamp'];
      for (const fn of [...this.listeners]) fn(ev);
      return;
    }
    const id = typeof m['id'] === 'string' ? m['id'] : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in m) {
      const e = (m['error'] ?? {}) as { class?: unknown; desc?: unknown };
      const cls = typeof e.class === 'string' ? e.class : 'GenericError';
      const desc = typeof e.desc === 'string' ? e.desc : 'unknown error';
      p.reject(new QmpError('CommandFailed', `QMP ${p.command} failed: ${desc}`, cls));
    } else {
      p.resolve(m['return']);
    }
  }

  private fail(err: QmpError): void {
    this.closedErr ??= err;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err.kind === 'Closed' ? new QmpError('Closed', `QMP connection closed before ${p.command} was answered`) : err);
    }
  }
}

function versionOf(hello: unknown): string {
  const q = (hello as { version?: { qemu?: { major?: unknown; minor?: unknown; micro?: unknown } } } | undefined)?.version?.qemu;
  if (!q || typeof q.major !== 'number') return '';
  return `${q.major}.${String(q.minor)}.${String(q.micro)}`;
}

/**
 * Connects, runs fn with the session and closes it whatever happens: the
 * shape most driver operations take.
 */
export async function withQmp<T>(path: string, fn: (q: QmpClient) => Promise<T>, opts: QmpConnectOptions = {}): Promise<T> {
  const q = await QmpClient.connect(path, opts);
  try {
    return await fn(q);
  } finally {
    q.close();
  }
}
