import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from '../../../test/helpers/cloud.js';
import { loadStaticFiles, pickEncoding } from './static-files.js';

test('the build-time .br and .gz siblings are served as encodings of their file, not as files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slsf-'));
  try {
    mkdirSync(join(dir, 'assets'));
    const js = 'export const answer = 42;\n'.repeat(100);
    writeFileSync(join(dir, 'assets', 'index-abc.js'), js);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'precompress.mjs'), dir], { stdio: 'ignore' });

    const files = loadStaticFiles(dir);
    assert.deepEqual([...files.keys()].sort(), ['/assets/index-abc.js', '/index.html']);
    const f = files.get('/assets/index-abc.js');
    assert.ok(f?.br && f.gzip, 'both encodings loaded from the build');
    assert.equal(brotliDecompressSync(f.br).toString(), js);
    assert.equal(gunzipSync(f.gzip).toString(), js);
    assert.equal(pickEncoding(f, 'gzip, deflate, br').encoding, 'br');
    assert.equal(pickEncoding(f, 'gzip').encoding, 'gzip');
    assert.equal(pickEncoding(f, 'br;q=0, identity').encoding, undefined);
    assert.equal(f.immutable, true);
    assert.equal(files.get('/index.html')?.immutable, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
