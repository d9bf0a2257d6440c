import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentBundle, freePort, REPO_ROOT, type CliResult } from '../helpers/cloud.js';

/**
 * What `bin/stacklet` runs is the esbuild bundle (scripts/bundle.mjs), not
 * the ES modules the other tests start: this checks the bundle is there,
 * current, and a working cloud, including the parts that load files of
 * their own beside it (the hash worker threads, the dashboard, noVNC).
 */

const BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'main.js');

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('the bundle bin/stacklet runs is built, current, and serves a working cloud', { timeout: 300_000 }, async () => {
  assert.ok(existsSync(BUNDLE), 'dist/bundle/main.js is missing: scripts/setup.sh builds it (node scripts/bundle.mjs)');
  for (const helper of ['hash-worker.js', 'metadata-listen.js']) assert.ok(existsSync(join(REPO_ROOT, 'dist', 'bundle', helper)), `${helper} beside the bundle`);
  assert.equal(currentBundle(), BUNDLE, 'the bundle is older than the build it is made of: run scripts/setup.sh');

  const dir = mkdtempSync(join(tmpdir(), 'slbundle-'));
  const port = await freePort();
  const env = { STACKLET_DATA_PLANE: '0', STACKLET_SEED: '0' };
  try {
    const up = await run(process.execPath, [BUNDLE, 'up', '--data-dir', dir, '--listen', `127.0.0.1:${port}`, '--detach'], env);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout + up.stderr, /healthy/);

    const os = { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') };
    // 40 MiB: above the size where uploads are hashed on worker threads.
    const image = join(dir, 'image.raw');
    const bytes = randomBytes(40 * 1024 * 1024);
    writeFileSync(image, bytes);
    const created = await run('openstack', ['--os-cloud', 'stacklet-admin', 'image', 'create', '--disk-format', 'raw', '--file', image, 'bundled', '-f', 'value', '-c', 'id'], os);
    assert.equal(created.code, 0, created.stderr);
    const shown = await run('openstack', ['--os-cloud', 'stacklet-admin', 'image', 'show', 'bundled', '-f', 'json'], os);
    assert.equal(shown.code, 0, shown.stderr);
    const img = JSON.parse(shown.stdout) as { status: string; checksum: string };
    assert.equal(img.status, 'active');
    assert.equal(img.checksum, createHash('md5').update(bytes).digest('hex'));

    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root"|<script/);
    const rfb = await fetch(`http://127.0.0.1:${port}/console/novnc/core/rfb.js`);
    assert.equal(rfb.status, 200, 'noVNC is found from the bundle');

    const status = await run(process.execPath, [BUNDLE, 'status', '--data-dir', dir], env);
    assert.match(status.stdout, /healthy/);
  } finally {
    await run(process.execPath, [BUNDLE, 'down', '--data-dir', dir], env);
    const pidFile = join(dir, 'stacklet.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
