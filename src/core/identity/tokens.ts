import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

/**
 * Tokens are compact JWS (HS256) signed with a key kept in the data dir.
 * They carry who and what scope, never roles: roles are resolved on every
 * validation, so removing a role takes effect at once (as with Keystone's
 * Fernet tokens). Revocation is by audit id, checked on validation.
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

export class TokenSigner {
  constructor(private readonly key: Uint8Array) {}

  static generateKey(): Buffer {
    return randomBytes(32);
  }

  async sign(claims: TokenClaims): Promise<string> {
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.ceil(claims.x / 1000))
      .sign(this.key);
  }

  /** Returns the claims, or undefined when the token is forged, malformed or expired. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    if (token.length > 4096 || token.split('.').length !== 3) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const c = payload as unknown as TokenClaims;
      if (typeof c.sub !== 'string' || typeof c.a !== 'string' || typeof c.t !== 'number' || typeof c.x !== 'number') return undefined;
      if (!Array.isArray(c.m)) return undefined;
      if (c.x <= Date.now()) return undefined;
      return c;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
  }
}

/** Audit ids are 22 url-safe characters, as Keystone's. */
export function auditId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}
