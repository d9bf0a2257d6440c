import { createConnection, type Socket } from 'node:net';
import { open, rename, stat } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { ComputeError } from '../errors.js';

/**
 * Consoles: the serial log QEMU appends to (read back for
 * os-getConsoleOutput) and the VNC unix socket (piped to the websocket
 * proxy). Nothing here listens on a TCP port.
 */

/** Nova's libvirt driver returns at most the last 100 KiB of the log; we allow a little more. */
export const MAX_CONSOLE_BYTES = 256 * 1024;
/** A log over this size is rotated (one old copy kept) when the instance starts. */
export const ROTATE_CONSOLE_BYTES = 2 * 1024 * 1024;

/**
 * The end of a log file: the last `lines` lines (all of the last
 * maxBytes when lines is absent). A missing file is an empty log.
 */
export async function tailLog(file: string, lines?: number, maxBytes = MAX_CONSOLE_BYTES): Promise<string> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new ComputeError('HostFailure', `cannot read console log ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    // A cut in the middle of the file: drop the partial first line.
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    // QEMU's serial log has the guest's \r\n line ends; clients want plain lines.
    text = text.replace(/\r\n/g, '\n').replace(/\r(?!\n)/g, '');
    if (lines === undefined) return text;
    if (lines <= 0) return '';
    const all = text.split('\n');
    const trailing = all[all.length - 1] === '' ? all.pop() : undefined;
    const kept = all.slice(-lines).join('\n');
    return trailing === undefined ? kept : `${kept}\n`;
  } finally {
    await fh.close();
  }
}

/** Reads `length` bytes of a log from `offset` (for incremental readers); missing file → empty. */
export async function readLogRange(file: string, offset: number, length: number): Promise<{ data: Buffer; size: number }> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { data: Buffer.alloc(0), size: 0 };
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const from = Math.min(Math.max(0, offset), size);
    const n = Math.max(0, Math.min(length, MAX_CONSOLE_BYTES, size - from));
    const data = Buffer.alloc(n);
    const { bytesRead } = await fh.read(data, 0, n, from);
    return { data: data.subarray(0, bytesRead), size };
  } finally {
    await fh.close();
  }
}

/** Keeps a growing log bounded across restarts: over the limit, it becomes `old` (replacing the previous one). */
export async function rotateLog(file: string, old: string, limit = ROTATE_CONSOLE_BYTES): Promise<void> {
  try {
    if ((await stat(file)).size > limit) await rename(file, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Connects a unix socket (an instance's VNC server) to a duplex stream (a
 * websocket's byte stream) in both directions. Either side closing closes
 * the other. Resolves once connected; the returned function tears it down.
 */
export async function pipeUnixSocket(socketPath: string, peer: Duplex, timeoutMs = 5_000): Promise<() => void> {
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ComputeError('HostFailure', `no answer on ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ComputeError('NotFound', `console socket ${socketPath} does not answer (${err.code ?? err.message}): is the instance running?`, { cause: err }));
    });
  });
  const close = (): void => {
    sock.destroy();
    peer.destroy();
  };
  sock.on('error', close);
  peer.on('error', close);
  sock.on('close', close);
  peer.on('close', close);
  sock.pipe(peer);
  peer.pipe(sock);
  return close;
}
