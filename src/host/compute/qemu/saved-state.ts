import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { ComputeError } from '../errors.js';
import type { QmpClient } from './qmp.js';

/**
 * Suspend to a file and back, through QEMU's migration stream. QEMU 7.2
 * has no `file:` migration target, and `exec:` would run a shell, so the
 * stream goes over a unix socket that Stacklet serves and copies to (or
 * from) the state file. The guest is stopped first, so the saved state is
 * one consistent moment and the copy is a single pass.
 */

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
}

const POLL_MS = 100;

async function waitMigration(q: QmpClient, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await q.execute<MigrateInfo>('query-migrate');
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw new ComputeError('HostFailure', `${what} failed: ${info['error-desc'] ?? info.status}`);
    }
    if (Date.now() > deadline) throw new ComputeError('HostFailure', `${what} did not finish within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(path, () => resolve(srv));
  });
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes the paused guest's state to `file` (atomically) through a socket
 * at `socketPath`. The caller stops the vCPUs before and quits QEMU after.
 */
export async function saveState(q: QmpClient, socketPath: string, file: string, timeoutMs: number): Promise<void> {
  await rm(socketPath, { force: true });
  const tmp = `${file}.tmp`;
  const srv = await listen(socketPath);
  let copy: Promise<void> | undefined;
  const accepted = new Promise<void>((resolve) => {
    srv.once('connection', (conn: Socket) => {
      srv.close();
      copy = pipeline(conn, createWriteStream(tmp, { mode: 0o600 }));
      // Awaited below; a failure before then must not count as unhandled.
      copy.catch(() => undefined);
      resolve();
    });
  });
  try {
    // Local copy: no reason to throttle (QEMU's default would take seconds per 100 MiB).
    await q.execute('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 ** 3 });
    await q.execute('migrate', { uri: `unix:${socketPath}` });
    await waitMigration(q, timeoutMs, 'saving the guest state');
    await accepted;
    await copy;
    await fsyncFile(tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    srv.close();
    await rm(socketPath, { force: true });
  }
}

/**
 * Feeds `file` to a QEMU started with `-incoming defer`, through a socket
 * QEMU listens on at `socketPath`. Resolves once QEMU has loaded it (the
 * guest is then paused or running, as it was saved).
 */
export async function restoreState(q: QmpClient, socketPath: string, file: string, timeoutMs: number): Promise<void> {
  await rm(socketPath, { force: true });
  await q.execute('migrate-incoming', { uri: `unix:${socketPath}` });
  const conn = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection({ path: socketPath });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  // QEMU closes its end as soon as it has parsed the stream's end marker,
  // which can come before our reader has seen EOF; pipeline calls that a
  // premature close. What QEMU reports is the truth: a feed error matters
  // only when the migration did not complete.
  let feedError: unknown;
  const feed = pipeline(createReadStream(file), conn).catch((err: unknown) => {
    feedError = err;
  });
  try {
    await waitMigration(q, timeoutMs, 'restoring the guest state');
  } catch (err) {
    if (feedError instanceof Error && !isPrematureClose(feedError)) {
      throw new ComputeError('HostFailure', `restoring the guest state failed: reading ${file}: ${feedError.message}`, { cause: err });
    }
    throw err;
  } finally {
    conn.destroy();
    await feed;
    await rm(socketPath, { force: true });
  }
}

function isPrematureClose(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as NodeJS.ErrnoException).code === 'EPIPE';
}
