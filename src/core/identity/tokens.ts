import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Tokens are compact JWS (HS256) signed with a key kept in the data dir.
 * They carry who and what scope, never roles: roles are resolved on every
 * validation, so removing a role takes effect at once (as with Keystone's
 * Fernet tokens). Revocation is by audit id, checked on validation.
 *
 * Signing and checking use node:crypto's HMAC directly (a few microseconds,
 * on the calling thread) rather than a WebCrypto-based JWT library, whose
 * every call is a round trip through the thread pool: under load that hop
 * alone cost milliseconds per token issued and per first use of a token.
 * Only tokens this signer makes are accepted: the header must be exactly
 * ours, so no other algorithm (or "none") can even be asked for.
 */
export interface TokenClaims {
  /** user id */
  sub: string;
  /** authentication methods */
  m: string[];
  /** project scope */
  p?: string;
  /** domain scope */
  d?: string;
  /** application credential id */
  ac?: string;
  /** audit id, and the audit id of the token this one was rescoped from */
  a: string;
  a2?: string;
  /** issued / expires, epoch ms */
  t: number;
  x: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');
const MAX_TOKEN = 4096;

export class TokenSigner {
  constructor(private readonly key: Uint8Array) {}

  static generateKey(): Buffer {
    return randomBytes(32);
  }

  private mac(input: string): Buffer {
    return createHmac('sha256', this.key).update(input).digest();
  }

  async sign(claims: TokenClaims): Promise<string> {
    const payload = Buffer.from(JSON.stringify({ ...claims, exp: Math.ceil(claims.x / 1000) })).toString('base64url');
    const input = `${HEADER}.${payload}`;
    return `${input}.${this.mac(input).toString('base64url')}`;
  }

  /** Returns the claims, or undefined when the token is forged, malformed or expired. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    if (token.length > MAX_TOKEN) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    if (header !== HEADER) return undefined;
    const given = Buffer.from(signature, 'base64url');
    const expected = this.mac(`${header}.${payload}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== signature) return undefined;
    let c: TokenClaims & { exp?: unknown };
    try {
      c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims & { exp?: unknown };
    } catch {
      return undefined;
    }
    if (typeof c !== 'object' || c === null) return undefined;
    if (typeof c.sub !== 'string' || typeof c.a !== 'string' || typeof c.t !== 'number' || typeof c.x !== 'number') return undefined;
    if (!Array.isArray(c.m)) return undefined;
    const now = Date.now();
    if (typeof c.exp !== 'number' || c.exp * 1000 <= now || c.x <= now) return undefined;
    return c;
  }
}

/** Audit ids are 22 url-safe characters, as Keystone's. */
export function auditId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}
