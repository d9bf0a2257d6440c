import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import WebSocket from 'ws';
import { randomBytes } from 'node:crypto';
import type { CloudContext } from '../context.js';
import { buildServer } from '../server.js';
import { consolePlugin } from './plugin.js';

const dir = mkdtempSync(join(tmpdir(), 'slconsole-'));
const sock = join(dir, 'vnc.sock');
// Stands in for Nova's console auth (src/core/compute/consoles.ts): token → instance.
const grants = new Map<string, string>();
const tokens = {
  issue(instanceId: string): { token: string } {
    const token = randomBytes(24).toString('base64url');
    grants.set(token, instanceId);
    return { token };
  },
};
const redeem = async (t: string) => grants.get(t);
let base = '';
let close: () => Promise<void> = async () => {};

// Stands in for qemu's VNC server: speaks the first line of RFB and echoes.
const vnc = createServer((c) => {
  c.write('RFB 003.008\n');
  c.on('data', (d) => c.write(d));
});

before(async () => {
  await new Promise<void>((r) => vnc.listen(sock, r));
  const ctx = { log: pino({ level: 'silent' }), baseUrl: '' } as unknown as CloudContext;
  const app = await buildServer(ctx, [consolePlugin({ redeem, vncSocket: async (id) => (id === 'vm-1' ? sock : undefined) })]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  close = async () => {
    await app.close();
  };
});

after(async () => {
  await close();
  vnc.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(token: string): Promise<{ first: string; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${base}/console/websocket?token=${encodeURIComponent(token)}`);
    ws.once('message', (d: Buffer) => resolve({ first: d.toString(), ws }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

test('a valid token reaches the instance VNC socket and speaks RFB', async () => {
  const { token } = tokens.issue('vm-1');
  const { first, ws } = await open(token);
  assert.equal(first, 'RFB 003.008\n');
  ws.close();
});

test('Nova-style websockify URLs work too', async () => {
  const token = tokens.issue('vm-1').token;
  const ws = new WebSocket(`ws://${base}/console/websockify?token=${token}`);
  const first = await new Promise<string>((resolve, reject) => {
    ws.once('message', (d: Buffer) => resolve(d.toString()));
    ws.once('error', reject);
  });
  assert.equal(first, 'RFB 003.008\n');
  ws.close();
});

test('an unknown token, or one for an instance without a console, is refused', async () => {
  await assert.rejects(open('nope'), /403/);
  await assert.rejects(open(tokens.issue('vm-2').token), /403/);
});

test('the console page is served only with a live token', async () => {
  const ok = await fetch(`http://${base}/console/vnc.html?token=${tokens.issue('vm-1').token}`);
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /novnc\/core\/rfb\.js/);
  const bad = await fetch(`http://${base}/console/vnc.html?token=x`);
  assert.equal(bad.status, 404);
  const js = await fetch(`http://${base}/console/novnc/core/rfb.js`);
  assert.equal(js.status, 200);
  const nova = await fetch(`http://${base}/console/novnc/vnc_lite.html?path=${encodeURIComponent(`console/websockify?token=${tokens.issue('vm-1').token}`)}`);
  assert.equal(nova.status, 200);
  const escape = await fetch(`http://${base}/console/novnc/..%2f..%2fpackage.json`);
  assert.equal(escape.status, 404);
});
