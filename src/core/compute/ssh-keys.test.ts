import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CloudError } from '../errors.js';
import { generateSshKey, parsePublicKey } from './ssh-keys.js';

/** ssh-keygen is the judge: it must read our private keys and derive our public keys and fingerprints. */
describe('ssh keys', () => {
  for (const alg of ['ssh-ed25519', 'ssh-rsa'] as const) {
    test(`${alg}: ssh-keygen reads the private key and derives the same public key and md5 fingerprint`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'sshkey-'));
      try {
        const k = generateSshKey(alg, 'test-comment');
        const file = join(dir, 'id');
        writeFileSync(file, k.privateKey, { mode: 0o600 });
        const pub = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
        assert.equal(pub.split(' ').slice(0, 2).join(' '), k.publicKey.split(' ').slice(0, 2).join(' '));
        writeFileSync(`${file}.pub`, k.publicKey + '\n');
        const fp = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', `${file}.pub`], { encoding: 'utf8' });
        assert.match(fp, new RegExp(`MD5:${k.fingerprint}`));
        assert.equal(parsePublicKey(k.publicKey).fingerprint, k.fingerprint);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('an imported key made by ssh-keygen is accepted with its fingerprint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sshkey-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', join(dir, 'k')]);
      const line = execFileSync('cat', [join(dir, 'k.pub')], { encoding: 'utf8' });
      const fp = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, 'k.pub')], { encoding: 'utf8' });
      const p = parsePublicKey(line);
      assert.equal(p.type, 'ecdsa-sha2-nistp256');
      assert.match(fp, new RegExp(`MD5:${p.fingerprint}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('garbage is a 400 that says what an OpenSSH key looks like', () => {
    for (const bad of ['', 'hello', 'ssh-rsa !!!', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGQ=']) {
      assert.throws(
        () => parsePublicKey(bad),
        (e: unknown) => e instanceof CloudError && e.status === 400 && /Keypair data is invalid/.test(e.message),
      );
    }
  });
});
