import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { pipeUnixSocket, readLogRange, rotateLog, tailLog } from './console.js';
import { idFromDirName, instanceDirName } from './layout.js';
import { powerStateOf } from './driver.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slq-console-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('console log', () => {
  test('last N lines, CRLF normalised, missing file is empty', async () => {
    const f = join(dir, 'a.log');
    await writeFile(f, 'one\r\ntwo\r\nthree\r\nfour\r\n');
    assert.equal(await tailLog(f, 2), 'three\nfour\n');
    assert.equal(await tailLog(f), 'one\ntwo\nthree\nfour\n');
    assert.equal(await tailLog(f, 0), '');
    assert.equal(await tailLog(f, 99), 'one\ntwo\nthree\nfour\n');
    assert.equal(await tailLog(join(dir, 'none.log'), 5), '');
  });

  test('a long log is cut at a line boundary within the byte budget', async () => {
    const f = join(dir, 'b.log');
    await writeFile(f, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const t = await tailLog(f, undefined, 100);
    assert.ok(t.length <= 100);
    assert.ok(t.startsWith('line '), 'no partial first line');
    assert.ok(t.endsWith('line 999\n'));
  });

  test('byte ranges for incremental readers', async () => {
    const f = join(dir, 'c.log');
    await writeFile(f, 'abcdef');
    const r = await readLogRange(f, 2, 3);
    assert.equal(r.data.toString(), 'cde');
    assert.equal(r.size, 6);
    assert.equal((await readLogRange(f, 10, 3)).data.length, 0);
  });

  test('rotation keeps one old copy once over the limit', async () => {
    const f = join(dir, 'd.log');
    await writeFile(f, 'x'.repeat(50));
    await rotateLog(f, `${f}.0`, 100);
    assert.equal((await stat(f)).size, 50);
    await writeFile(f, 'y'.repeat(150));
    await rotateLog(f, `${f}.0`, 100);
    await assert.rejects(stat(f));
    assert.equal(await readFile(`${f}.0`, 'utf8'), 'y'.repeat(150));
    await rotateLog(join(dir, 'missing.log'), join(dir, 'missing.log.0'), 1);
  });
});

describe('VNC socket pipe', () => {
  test('bytes flow both ways and closing one side closes the other', async () => {
    const path = join(dir, 'vnc.sock');
    const atServer: Buffer[] = [];
    let serverSawClose = false;
    const server = createServer((s) => {
      s.write('RFB 003.008\n');
      s.on('data', (d: Buffer) => atServer.push(d));
      s.on('close', () => (serverSawClose = true));
    });
    await new Promise<void>((r) => server.listen(path, r));
    // Stands for the websocket's byte stream: what it is written is what the browser would get.
    const atClient: Buffer[] = [];
    const ws = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        atClient.push(chunk);
        cb();
      },
    });
    const close = await pipeUnixSocket(path, ws);
    ws.push('RFB 003.008\n');
    await until(() => Buffer.concat(atClient).toString() === 'RFB 003.008\n' && Buffer.concat(atServer).toString() === 'RFB 003.008\n');
    ws.destroy();
    await until(() => serverSawClose);
    close();
    server.close();
    await assert.rejects(pipeUnixSocket(join(dir, 'nothing.sock'), new PassThrough()), /does not answer/);
  });
});

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('names and states', () => {
  test('instance dir names carry the prefix and a uuid, nothing else is ours', () => {
    const id = '0b9f3c5e-8d6a-4c1e-9f2b-7a3d5e6f1a2b';
    assert.equal(instanceDirName('sl', id), `sl-${id}`);
    assert.equal(idFromDirName('sl', `sl-${id}`), id);
    assert.equal(idFromDirName('sl', `slx-${id}`), undefined);
    assert.equal(idFromDirName('sl', 'sl-notauuid'), undefined);
    assert.equal(idFromDirName('sl', `other-${id}`), undefined);
  });

  test("QEMU's run states map onto power states", () => {
    assert.equal(powerStateOf('running'), 'running');
    assert.equal(powerStateOf('paused'), 'paused');
    assert.equal(powerStateOf('inmigrate'), 'paused');
    assert.equal(powerStateOf('guest-panicked'), 'crashed');
    assert.equal(powerStateOf('internal-error'), 'crashed');
  });
});
