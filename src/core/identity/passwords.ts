import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Slow salted hashes for passwords and application-credential secrets.
 *
 * scrypt with N=2^14, r=8, p=1 (OWASP's floor for scrypt) costs ~16 MiB and
 * roughly 30-50 ms on one core of these machines: slow enough to make an
 * offline guess expensive, fast enough that `token issue` stays interactive.
 * It runs on libuv's thread pool, so it never blocks the event loop.
 * The parameters are stored with each hash, so raising N later re-hashes
 * nothing and breaks nothing.
 */

const KEYLEN = 32;

function scrypt(secret: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(secret, salt, KEYLEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function memFor(N: number, r: number): number {
  // Node refuses when 128*N*r exceeds maxmem; leave headroom.
  return 256 * N * r + 1024 * 1024;
}

/** Returns "scrypt$N$r$p$salt$hash" (base64url). */
export async function hashSecret(secret: string, cost = 1 << 14): Promise<string> {
  const salt = randomBytes(16);
  const r = 8;
  const p = 1;
  const key = await scrypt(secret, salt, { N: cost, r, p, maxmem: memFor(cost, r) });
  return ['scrypt', cost, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (!Number.isInteger(N) || !Number.isInteger(R) || !Number.isInteger(P)) return false;
  if (N > 1 << 20 || R > 32 || P > 16) return false;
  const expected = Buffer.from(hash, 'base64url');
  let key: Buffer;
  try {
    key = await scrypt(secret, Buffer.from(salt, 'base64url'), { N, r: R, p: P, maxmem: memFor(N, R) });
  } catch {
    // A damaged stored hash (N not a power of two, absurd costs) matches nothing rather than failing the request.
    return false;
  }
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A random secret for generated passwords and application credentials. */
export function generateSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
