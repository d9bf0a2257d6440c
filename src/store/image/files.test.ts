import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ImageFiles, UploadInterrupted } from './files.js';

/** A source that yields `data` in uneven chunks, optionally failing after `failAt` bytes. */
function source(data: Buffer, failAt?: number): Readable {
  let off = 0;
  return new Readable({
    read() {
      if (failAt !== undefined && off >= failAt) {
        this.destroy(new Error('connection reset'));
        return;
      }
      if (off >= data.length) {
        this.push(null);
        return;
      }
      const n = Math.min(1 + Math.floor(Math.random() * 300_000), data.length - off);
      this.push(data.subarray(off, off + n));
      off += n;
    },
  });
}

describe('ImageFiles', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'image-files-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const hashMode of ['workers', 'inline'] as const) {
    test(`receive hashes md5 and sha512 in one pass (${hashMode}) and commit renames`, async () => {
      const files = new ImageFiles(dir, { hashMode });
      await files.ensureDir();
      const data = randomBytes(5 * 1024 * 1024 + 12345);
      const id = randomUUID();
      const got = await files.receive(id, source(data));
      assert.equal(got.size, data.length);
      assert.equal(got.md5, createHash('md5').update(data).digest('hex'));
      assert.equal(got.sha512, createHash('sha512').update(data).digest('hex'));
      assert.ok(readdirSync(dir).some((n) => n.endsWith('.part')));
      await files.commit(got.tmpPath, id);
      assert.ok(readFileSync(files.pathOf(id)).equals(data));
      assert.equal(await files.sizeOf(id), data.length);
      await files.remove(id);
      assert.deepEqual(readdirSync(dir), []);
    });
  }

  test('readRange streams the asked bytes; undefined without a file', async () => {
    const files = new ImageFiles(dir);
    const data = randomBytes(3 * 1024 * 1024);
    const id = randomUUID();
    const got = await files.receive(id, source(data));
    await files.commit(got.tmpPath, id);
    const read = async (start: number, end: number) => {
      const s = await files.readRange(id, start, end);
      assert.ok(s);
      const parts: Buffer[] = [];
      for await (const c of s) parts.push(c as Buffer);
      return Buffer.concat(parts);
    };
    assert.ok((await read(0, data.length - 1)).equals(data));
    assert.ok((await read(1000, 1999)).equals(data.subarray(1000, 2000)));
    assert.equal(await files.readRange(randomUUID(), 0, 1), undefined);
    await files.remove(id);
  });

  test('an empty upload hashes to the empty digests', async () => {
    const files = new ImageFiles(dir);
    const got = await files.receive(randomUUID(), source(Buffer.alloc(0)));
    assert.equal(got.size, 0);
    assert.equal(got.md5, 'd41d8cd98f00b204e9800998ecf8427e');
    await files.discard(got.tmpPath);
  });

  test('a cut stream rejects and leaves no temp file', async () => {
    const files = new ImageFiles(dir);
    await assert.rejects(files.receive(randomUUID(), source(randomBytes(4 * 1024 * 1024), 2 * 1024 * 1024)), UploadInterrupted);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('more than maxBytes fails with the caller\'s error and leaves nothing', async () => {
    const files = new ImageFiles(dir);
    class TooBig extends Error {}
    await assert.rejects(files.receive(randomUUID(), source(randomBytes(3 * 1024 * 1024)), { maxBytes: 1024 * 1024, tooLarge: () => new TooBig('quota') }), TooBig);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('sweep removes temp files and files nobody owns, and nothing else', async () => {
    const files = new ImageFiles(dir);
    const keep = randomUUID();
    const stray = randomUUID();
    writeFileSync(join(dir, keep), 'k');
    writeFileSync(join(dir, stray), 's');
    writeFileSync(join(dir, `.${randomUUID()}.abcdef.part`), 'p');
    writeFileSync(join(dir, 'README'), 'not ours');
    const removed = await files.sweep(new Set([keep]));
    assert.equal(removed.length, 2);
    assert.deepEqual(readdirSync(dir).sort(), [keep, 'README'].sort());
  });

  test('pathOf refuses names that are not image ids', () => {
    const files = new ImageFiles(dir);
    assert.throws(() => files.pathOf('../etc/passwd'));
  });
});
