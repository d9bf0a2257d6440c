import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { badRequest } from '../errors.js';

/**
 * SSH keys for os-keypairs: generated in-process (ssh-ed25519 or ssh-rsa),
 * encoded in OpenSSH's public key and private key formats, and imported
 * keys checked and fingerprinted as Nova does (md5 of the key blob, colon hex).
 */

export type SshAlgorithm = 'ssh-ed25519' | 'ssh-rsa';

export interface GeneratedKey {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
}

/** The key types an imported public key may have (what OpenSSH and Nova accept). */
const KNOWN_TYPES = new Set([
  'ssh-rsa',
  'ssh-ed25519',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function sshUint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** An mpint: big-endian two's complement, with a leading zero byte when the top bit is set. */
function sshMpint(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  let v = unsigned.subarray(i);
  if (v.length > 0 && ((v[0] ?? 0) & 0x80) !== 0) v = Buffer.concat([Buffer.from([0]), v]);
  return sshString(v);
}

const fromB64url = (s: string | undefined): Buffer => {
  if (s === undefined) throw new Error('key export lacks a component');
  return Buffer.from(s, 'base64url');
};

/** Nova's fingerprint: md5 of the decoded key blob as colon-separated hex. */
export function fingerprintOf(blob: Buffer): string {
  return createHash('md5').update(blob).digest('hex').match(/../g)?.join(':') ?? '';
}

function ed25519Parts(priv: KeyObject): { pub: Buffer; seed: Buffer } {
  const jwk = priv.export({ format: 'jwk' });
  return { pub: fromB64url(jwk.x), seed: fromB64url(jwk.d) };
}

/**
 * OpenSSH's own private key container (openssh-key-v1), unencrypted: what
 * `ssh-keygen` writes and every ssh reads, for either algorithm.
 */
function opensshPrivateKey(keyType: string, publicBlob: Buffer, privateFields: Buffer, comment: string): string {
  const check = randomBytes(4);
  let inner = Buffer.concat([check, check, sshString(keyType), privateFields, sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (inner.length + pad.length) % 8 !== 0; i++) pad.push(i);
  inner = Buffer.concat([inner, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    sshUint32(1),
    sshString(publicBlob),
    sshString(inner),
  ]);
  const b64 = body.toString('base64').match(/.{1,70}/g)?.join('\n') ?? '';
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** Generates a key pair; `comment` ends the public key line (Nova writes "Generated-by-Nova"). */
export function generateSshKey(algorithm: SshAlgorithm, comment = 'Generated-by-Stacklet'): GeneratedKey {
  if (algorithm === 'ssh-ed25519') {
    const { privateKey } = generateKeyPairSync('ed25519');
    const { pub, seed } = ed25519Parts(privateKey);
    const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
    const fields = Buffer.concat([sshString(pub), sshString(Buffer.concat([seed, pub]))]);
    return {
      publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
      privateKey: opensshPrivateKey('ssh-ed25519', blob, fields, comment),
      fingerprint: fingerprintOf(blob),
    };
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const j = privateKey.export({ format: 'jwk' });
  const [n, e, d, p, q, qi] = [j.n, j.e, j.d, j.p, j.q, j.qi].map(fromB64url) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const blob = Buffer.concat([sshString('ssh-rsa'), sshMpint(e), sshMpint(n)]);
  // OpenSSH's RSA private fields: n, e, d, iqmp, p, q.
  const fields = Buffer.concat([sshMpint(n), sshMpint(e), sshMpint(d), sshMpint(qi), sshMpint(p), sshMpint(q)]);
  return {
    publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`,
    privateKey: opensshPrivateKey('ssh-rsa', blob, fields, comment),
    fingerprint: fingerprintOf(blob),
  };
}

/** The algorithm and blob of an OpenSSH public key line, or a 400 that says what is wrong. */
export function parsePublicKey(line: string): { type: string; blob: Buffer; fingerprint: string; normalized: string } {
  const text = line.trim();
  if (text.includes('\n')) throw badRequest('Keypair data is invalid: the public key must be one line (an OpenSSH public key such as the content of ~/.ssh/id_ed25519.pub).');
  if (/^-----BEGIN/.test(text)) {
    throw badRequest('Keypair data is invalid: x509 certificates are not supported here; import an OpenSSH public key (ssh-ed25519 or ssh-rsa).');
  }
  const parts = text.split(/\s+/);
  const [type, b64] = parts;
  if (!type || !b64 || !KNOWN_TYPES.has(type)) {
    throw badRequest('Keypair data is invalid: failed to generate fingerprint. Expected an OpenSSH public key such as "ssh-ed25519 AAAA... comment".');
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw badRequest('Keypair data is invalid: the key is not valid base64.');
  const blob = Buffer.from(b64, 'base64');
  if (blob.length < 4) throw badRequest('Keypair data is invalid: the key is too short.');
  const nameLen = blob.readUInt32BE(0);
  const embedded = nameLen + 4 <= blob.length ? blob.subarray(4, 4 + nameLen).toString('latin1') : '';
  if (embedded !== type) throw badRequest(`Keypair data is invalid: the key says it is ${type} but its data is ${embedded ? embedded : 'not an SSH key'}.`);
  if (type === 'ssh-ed25519' && blob.length !== 4 + 11 + 4 + 32) throw badRequest('Keypair data is invalid: an ssh-ed25519 key holds 32 bytes.');
  if (type === 'ssh-rsa' && blob.length < 4 + 7 + 4 + 1 + 4 + 128) throw badRequest('Keypair data is invalid: the RSA key is too short (at least 1024 bits).');
  return { type, blob, fingerprint: fingerprintOf(blob), normalized: text };
}
