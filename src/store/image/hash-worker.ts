import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/**
 * Runs one hash algorithm for any number of concurrent uploads, off the
 * main thread: md5 and sha512 each cost about as much CPU as receiving
 * the bytes, so each gets its own thread. Data arrives in shared memory
 * blocks; every block is acknowledged so the sender can reuse it.
 */

export type HashRequest =
  | { t: 'begin'; s: number; algo: string }
  | { t: 'data'; s: number; seq: number; buf: SharedArrayBuffer; len: number }
  | { t: 'end'; s: number }
  | { t: 'abort'; s: number };

export type HashReply =
  | { t: 'ack'; s: number; seq: number }
  | { t: 'digest'; s: number; hex: string }
  | { t: 'error'; s: number; message: string };

const sessions = new Map<number, Hash>();
const port = parentPort;

port?.on('message', (m: HashRequest) => {
  try {
    switch (m.t) {
      case 'begin':
        sessions.set(m.s, createHash(m.algo));
        break;
      case 'data': {
        sessions.get(m.s)?.update(new Uint8Array(m.buf, 0, m.len));
        port.postMessage({ t: 'ack', s: m.s, seq: m.seq } satisfies HashReply);
        break;
      }
      case 'end': {
        const h = sessions.get(m.s);
        sessions.delete(m.s);
        port.postMessage({ t: 'digest', s: m.s, hex: h ? h.digest('hex') : '' } satisfies HashReply);
        break;
      }
      case 'abort':
        sessions.delete(m.s);
        break;
    }
  } catch (err) {
    sessions.delete(m.s);
    port.postMessage({ t: 'error', s: m.s, message: err instanceof Error ? err.message : String(err) } satisfies HashReply);
  }
});
