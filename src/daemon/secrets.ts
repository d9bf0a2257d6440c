import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { generateSecret } from '../core/identity/passwords.js';
import { TokenSigner } from '../core/identity/tokens.js';
import type { BootstrapSecrets } from '../core/identity/bootstrap.js';

/**
 * Generated passwords and the token signing key live in root-only files in
 * the data dir (mode 0600), never in the log. They are made once and reused,
 * so tokens and passwords survive restarts.
 */
export function loadOrCreateSecrets(path: string): BootstrapSecrets {
  if (existsSync(path)) {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<BootstrapSecrets>;
    if (typeof s.adminPassword === 'string' && typeof s.demoPassword === 'string') {
      return { adminPassword: s.adminPassword, demoPassword: s.demoPassword };
    }
    throw new Error(`${path} is damaged (no adminPassword/demoPassword); restore it from a backup or delete the data dir`);
  }
  const s: BootstrapSecrets = {
    adminPassword: process.env['STACKLET_ADMIN_PASSWORD'] || generateSecret(12),
    demoPassword: process.env['STACKLET_DEMO_PASSWORD'] || generateSecret(12),
  };
  writeFileSync(path, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return s;
}

export function readSecrets(path: string): BootstrapSecrets | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as BootstrapSecrets;
}

export function loadOrCreateTokenKey(path: string): Buffer {
  if (existsSync(path)) {
    const k = readFileSync(path);
    if (k.length >= 32) return k;
    throw new Error(`${path} is too short to be a signing key; delete it (every token will be invalidated)`);
  }
  const k = TokenSigner.generateKey();
  writeFileSync(path, k, { mode: 0o600 });
  chmodSync(path, 0o600);
  return k;
}
