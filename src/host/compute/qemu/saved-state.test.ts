import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isComputeError } from '../errors.js';
import type { QmpClient } from './qmp.js';
import { restoreState } from './saved-state.js';

/**
 * A stand-in for QEMU's incoming side: it listens where `migrate-incoming`
 * says, reads the stream and closes the moment it has `expect` bytes, the
 * way QEMU closes as soon as it parses the end-of-state marker: the device
 * description QEMU writes after that marker is never read, so the sender
 * still has bytes to write when the socket goes away.
 */
function fakeIncoming(expect: number, outcome: 'completed' | 'failed'): { q: QmpClient; server: () => Server | undefined; received: () => number } {
  let srv: Server | undefined;
  let got = 0;
  let status = 'active';
  const q = {
    execute: async (cmd: string, args?: { uri?: string }) => {
      if (cmd === 'migrate-incoming') {
        const path = (args?.uri ?? '').replace(/^unix:/, '');
        srv = createServer((conn) => {
          conn.on('data', (b: Buffer) => {
            got += b.length;
            if (got >= expect) {
              status = outcome;
              conn.destroy();
            }
          });
        });
        await new Promise<void>((r) => srv?.listen(path, r));
        return {};
      }
      if (cmd === 'query-migrate') return outcome === 'failed' && got > 0 ? { status: 'failed', 'error-desc': 'bad section' } : { status };
      throw new Error(`unexpected ${cmd}`);
    },
  } as unknown as QmpClient;
  return { q, server: () => srv, received: () => got };
}

test('restoring succeeds when QEMU closes the socket before the end of the file', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slss-'));
  try {
    const file = join(dir, 'state');
    const size = 8 * 1024 * 1024 + 123;
    const trailer = 256 * 1024;
    await writeFile(file, Buffer.alloc(size, 7));
    for (let i = 0; i < 5; i++) {
      const f = fakeIncoming(size - trailer, 'completed');
      await restoreState(f.q, join(dir, `m${i}.sock`), file, 10_000);
      assert.ok(f.received() >= size - trailer);
      f.server()?.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a migration QEMU reports as failed is a HostFailure with its reason', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slss-'));
  try {
    const file = join(dir, 'state');
    await writeFile(file, Buffer.alloc(4096, 1));
    const f = fakeIncoming(1, 'failed');
    await assert.rejects(restoreState(f.q, join(dir, 'm.sock'), file, 10_000), (e: unknown) => isComputeError(e, 'HostFailure') && /bad section/.test(String(e)));
    f.server()?.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
