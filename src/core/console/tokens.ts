import { createHash, randomBytes } from 'node:crypto';

/**
 * Short-lived console tokens, as Nova's console auth: a token admits one
 * console of one instance until it expires, and nothing else. Only a hash
 * of each token is kept, so a leaked memory dump or log holds no live token.
 * Tokens live in memory: a console outlives a Stacklet restart no more than
 * its websocket does, and the client asks for a new URL anyway.
 */
export interface ConsoleGrant {
  instanceId: string;
  kind: 'novnc' | 'serial';
  expiresAt: number;
}

const hash = (t: string) => createHash('sha256').update(t).digest('base64url');

export class ConsoleTokens {
  private readonly grants = new Map<string, ConsoleGrant>();

  constructor(private readonly ttlMs = 10 * 60 * 1000) {}

  issue(instanceId: string, kind: ConsoleGrant['kind'] = 'novnc'): { token: string; expiresAt: number } {
    this.sweep();
    const token = randomBytes(24).toString('base64url');
    const expiresAt = Date.now() + this.ttlMs;
    this.grants.set(hash(token), { instanceId, kind, expiresAt });
    return { token, expiresAt };
  }

  /** The grant a token carries, or undefined when it is unknown or expired. */
  redeem(token: string): ConsoleGrant | undefined {
    if (token.length === 0 || token.length > 256) return undefined;
    const g = this.grants.get(hash(token));
    if (!g) return undefined;
    if (g.expiresAt <= Date.now()) {
      this.grants.delete(hash(token));
      return undefined;
    }
    return g;
  }

  /** Forget every token of an instance (deleted, or its console changed). */
  revokeInstance(instanceId: string): void {
    for (const [k, g] of this.grants) if (g.instanceId === instanceId) this.grants.delete(k);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, g] of this.grants) if (g.expiresAt <= now) this.grants.delete(k);
  }
}
