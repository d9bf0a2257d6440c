import type { AuthContext } from '../auth.js';
import { badRequest, CloudError, conflict, forbidden, notFound } from '../errors.js';
import { nowIso } from '../ids.js';
import type { ComputeCatalogRepo, KeypairRow } from '../../store/compute/catalog.repo.js';
import type { QuotaService } from './quotas.js';
import { generateSshKey, parsePublicKey, type SshAlgorithm } from './ssh-keys.js';

/**
 * Keypairs belong to a user (not a project), as in Nova. Generated keys
 * are ssh-ed25519 unless asked otherwise; the private key is returned once
 * and never stored.
 */

export interface KeypairCreate {
  name: string;
  /** Nova's key type: ssh (default) or x509; Stacklet also takes ssh-ed25519 / ssh-rsa to pick the generated algorithm. */
  type?: string | undefined;
  publicKey?: string | undefined;
  /** Admin only (2.10): create for another user. */
  userId?: string | undefined;
}

export interface KeypairCreated extends KeypairRow {
  privateKey?: string;
}

const NAME_RE = /^[_\- a-zA-Z0-9]+$/;

export class KeypairService {
  constructor(
    readonly repo: ComputeCatalogRepo,
    private readonly quotas: QuotaService,
  ) {}

  /** Whose keypairs a call is about: the caller, or (admin, 2.10) the user named. */
  ownerOf(auth: AuthContext, userId: string | undefined): string {
    if (userId === undefined || userId === auth.userId) return auth.userId;
    if (!auth.isAdmin) throw forbidden(`Policy doesn't allow os_compute_api:os-keypairs to be performed for user ${userId}: only admins act on others' keypairs.`);
    return userId;
  }

  async create(auth: AuthContext, req: KeypairCreate): Promise<KeypairCreated> {
    const userId = this.ownerOf(auth, req.userId);
    const name = req.name;
    if (name.trim() !== name || !NAME_RE.test(name)) {
      throw badRequest(`Keypair data is invalid: the name "${name}" may only hold letters, digits, spaces, '_' and '-', and must not start or end with a space.`);
    }
    let algorithm: SshAlgorithm = 'ssh-ed25519';
    switch (req.type ?? 'ssh') {
      case 'ssh':
      case 'ssh-ed25519':
        break;
      case 'ssh-rsa':
      case 'rsa':
        algorithm = 'ssh-rsa';
        break;
      case 'x509':
        throw badRequest('x509 keypairs are not supported here: create or import an ssh key (type ssh).');
      default:
        throw badRequest(`Invalid key type ${req.type ?? ''}: use ssh (or ssh-ed25519 / ssh-rsa to choose the generated algorithm).`);
    }
    const limit = await this.quotas.limitOf(auth.projectId ?? '', 'key_pairs');
    if (limit >= 0 && (await this.repo.countKeypairs(userId)) >= limit) {
      throw new CloudError('Forbidden', `Quota exceeded, too many key pairs: the limit is ${limit} (quota key_pairs).`, { type: 'forbidden' });
    }
    if (await this.repo.getKeypair(userId, name)) throw conflict(`Key pair '${name}' already exists.`);

    let publicKey: string;
    let fingerprint: string;
    let privateKey: string | undefined;
    if (req.publicKey !== undefined) {
      const p = parsePublicKey(req.publicKey);
      publicKey = p.normalized;
      fingerprint = p.fingerprint;
    } else {
      const g = generateSshKey(algorithm, 'Generated-by-Stacklet');
      publicKey = g.publicKey;
      fingerprint = g.fingerprint;
      privateKey = g.privateKey;
    }
    try {
      const row = await this.repo.insertKeypair({ user_id: userId, name, type: 'ssh', public_key: publicKey, fingerprint, created_at: nowIso() });
      return privateKey !== undefined ? { ...row, privateKey } : row;
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed/.test(err.message)) throw conflict(`Key pair '${name}' already exists.`);
      throw err;
    }
  }

  async get(auth: AuthContext, name: string, userId?: string): Promise<KeypairRow> {
    const owner = this.ownerOf(auth, userId);
    const k = await this.repo.getKeypair(owner, name);
    if (!k) throw notFound(`Keypair ${name} not found for user ${owner}`);
    return k;
  }

  list(auth: AuthContext, userId?: string): Promise<KeypairRow[]> {
    return this.repo.listKeypairs(this.ownerOf(auth, userId));
  }

  async delete(auth: AuthContext, name: string, userId?: string): Promise<void> {
    const owner = this.ownerOf(auth, userId);
    if (!(await this.repo.deleteKeypair(owner, name))) throw notFound(`Keypair ${name} not found for user ${owner}`);
  }
}
