import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseQemuImgInfo, QemuImgError, qemuImgInfo } from './qemu-img.js';

describe('qemu-img info (real qemu-img)', () => {
  let dir = '';
  const mk = (...args: string[]) => execFileSync('qemu-img', ['create', '-q', ...args], { cwd: dir });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'qemu-img-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a qcow2 is probed as qcow2 with its virtual size', async () => {
    mk('-f', 'qcow2', join(dir, 'a.qcow2'), '64M');
    const i = await qemuImgInfo(join(dir, 'a.qcow2'));
    assert.equal(i.format, 'qcow2');
    assert.equal(i.virtualSize, 64 * 1024 * 1024);
    assert.equal(i.backingFilename, undefined);
    assert.equal(i.dataFile, undefined);
  });

  test('random bytes are raw', async () => {
    const p = join(dir, 'r.bin');
    writeFileSync(p, Buffer.alloc(4096, 0x5a));
    const i = await qemuImgInfo(p);
    assert.equal(i.format, 'raw');
    assert.equal(i.virtualSize, 4096);
  });

  test('a backing file is reported, without opening it', async () => {
    mk('-f', 'qcow2', '-u', '-b', '/nonexistent/base.img', '-F', 'raw', join(dir, 'b.qcow2'), '1M');
    const i = await qemuImgInfo(join(dir, 'b.qcow2'));
    assert.equal(i.format, 'qcow2');
    assert.equal(i.backingFilename, '/nonexistent/base.img');
  });

  test('an external data file is reported', async () => {
    mk('-f', 'qcow2', '-o', `data_file=${join(dir, 'd.raw')}`, join(dir, 'd.qcow2'), '1M');
    rmSync(join(dir, 'd.raw'));
    const i = await qemuImgInfo(join(dir, 'd.qcow2'));
    assert.equal(i.dataFile, join(dir, 'd.raw'));
  });

  test('a vmdk reports its create type', async () => {
    mk('-f', 'vmdk', join(dir, 'v.vmdk'), '1M');
    const i = await qemuImgInfo(join(dir, 'v.vmdk'));
    assert.equal(i.format, 'vmdk');
    assert.equal(i.vmdkCreateType, 'monolithicSparse');
  });

  test('a relative path that looks like an option or a protocol is read as a file', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      writeFileSync(join(dir, '-f'), Buffer.alloc(512));
      writeFileSync(join(dir, 'nbd:x'), Buffer.alloc(512));
      assert.equal((await qemuImgInfo('-f')).format, 'raw');
      assert.equal((await qemuImgInfo('nbd:x')).format, 'raw');
    } finally {
      process.chdir(cwd);
    }
  });

  test('a missing file fails with qemu-img\'s reason', async () => {
    await assert.rejects(qemuImgInfo(join(dir, 'nope')), (e: unknown) => e instanceof QemuImgError && e.kind === 'failed' && /No such file/.test(e.message));
  });

  test('a missing binary is "missing"', async () => {
    await assert.rejects(qemuImgInfo(join(dir, 'nope'), { binary: '/nonexistent/qemu-img' }), (e: unknown) => e instanceof QemuImgError && e.kind === 'missing');
  });

  test('a hung qemu-img is killed at the timeout', async () => {
    const fake = join(dir, 'slow-qemu-img');
    writeFileSync(fake, '#!/bin/sh\nsleep 10\n', { mode: 0o755 });
    const t0 = Date.now();
    await assert.rejects(qemuImgInfo(join(dir, 'x'), { binary: fake, timeoutMs: 300 }), (e: unknown) => e instanceof QemuImgError && e.kind === 'timeout');
    assert.ok(Date.now() - t0 < 5000);
  });

  test('output that is not qemu-img JSON is refused', () => {
    assert.throws(() => parseQemuImgInfo('nope'), (e: unknown) => e instanceof QemuImgError && e.kind === 'bad-output');
    assert.throws(() => parseQemuImgInfo('{"format": 1}'), (e: unknown) => e instanceof QemuImgError && e.kind === 'bad-output');
  });
});
