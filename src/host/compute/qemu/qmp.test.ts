import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient, QmpError } from './qmp.js';

/**
 * The QMP client against a scripted QMP server on a unix socket: greeting
 * and capabilities negotiation, answers matched by id even out of order,
 * events, errors, timeouts and a server that goes away.
 */

type Handler = (msg: { execute: string; arguments?: Record<string, unknown>; id?: string }, sock: Socket) => void;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slq-qmp-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function fakeQmp(handler: Handler, greeting = true): Promise<{ path: string; server: Server; seen: string[] }> {
  const path = join(dir, `q${n++}.sock`);
  const seen: string[] = [];
  const server = createServer((sock) => {
    if (greeting) sock.write('{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n');
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(line) as { execute: string; id?: string };
        seen.push(msg.execute);
        if (msg.execute === 'qmp_capabilities') sock.write(`${JSON.stringify({ return: {}, id: msg.id })}\r\n`);
        else handler(msg, sock);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, server, seen };
}

const reply = (sock: Socket, id: string | undefined, body: object): void => {
  sock.write(`${JSON.stringify({ ...body, id })}\r\n`);
};

describe('QMP client', () => {
  test('negotiates capabilities, reads the version, answers commands', async () => {
    const { path, server, seen } = await fakeQmp((m, s) => reply(s, m.id, { return: { status: 'running', running: true } }));
    const q = await QmpClient.connect(path);
    assert.equal(q.version, '7.2.22');
    assert.deepEqual(await q.execute('query-status'), { status: 'running', running: true });
    assert.deepEqual(seen, ['qmp_capabilities', 'query-status']);
    q.close();
    server.close();
  });

  test('matches answers by id when they come back out of order, with events in between', async () => {
    const held: Array<{ id?: string; cmd: string }> = [];
    const { path, server } = await fakeQmp((m, s) => {
      held.push({ id: m.id, cmd: m.execute });
      if (held.length === 2) {
        s.write('{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}\r\n');
        for (const h of held.reverse()) reply(s, h.id, { return: h.cmd });
      }
    });
    const q = await QmpClient.connect(path);
    const events: string[] = [];
    q.onEvent((e) => events.push(e.event));
    const [a, b] = await Promise.all([q.execute('first'), q.execute('second')]);
    assert.equal(a, 'first');
    assert.equal(b, 'second');
    assert.deepEqual(events, ['STOP']);
    q.close();
    server.close();
  });

  test('waitEvent resolves on the matching event only', async () => {
    const { path, server } = await fakeQmp((m, s) => {
      reply(s, m.id, { return: {} });
      s.write('{"event": "DEVICE_DELETED", "data": {"device": "other"}}\r\n');
      s.write('{"event": "DEVICE_DELETED", "data": {"device": "nic-1"}}\r\n');
    });
    const q = await QmpClient.connect(path);
    const ev = q.waitEvent('DEVICE_DELETED', 2000, (e) => e.data?.['device'] === 'nic-1');
    await q.execute('device_del', { id: 'nic-1' });
    assert.equal((await ev).data?.['device'], 'nic-1');
    q.close();
    server.close();
  });

  test('a QEMU error is a CommandFailed with its class', async () => {
    const { path, server } = await fakeQmp((m, s) => reply(s, m.id, { error: { class: 'DeviceNotFound', desc: "Device 'x' not found" } }));
    const q = await QmpClient.connect(path);
    await assert.rejects(q.execute('device_del', { id: 'x' }), (e: unknown) => e instanceof QmpError && e.kind === 'CommandFailed' && e.qmpClass === 'DeviceNotFound' && /not found/.test(e.message));
    q.close();
    server.close();
  });

  test('no answer is a Timeout; the session stays usable', async () => {
    let first = true;
    const { path, server } = await fakeQmp((m, s) => {
      if (first) first = false;
      else reply(s, m.id, { return: 'late-ok' });
    });
    const q = await QmpClient.connect(path);
    await assert.rejects(q.execute('slow', undefined, { timeoutMs: 100 }), (e: unknown) => e instanceof QmpError && e.kind === 'Timeout');
    assert.equal(await q.execute('fast'), 'late-ok');
    q.close();
    server.close();
  });

  test('a server that closes fails pending commands and event waits with Closed', async () => {
    const { path, server } = await fakeQmp((_m, s) => s.destroy());
    const q = await QmpClient.connect(path);
    const ev = q.waitEvent('SHUTDOWN', 5000);
    await assert.rejects(q.execute('quit'), (e: unknown) => e instanceof QmpError && e.kind === 'Closed');
    await assert.rejects(ev, (e: unknown) => e instanceof QmpError && e.kind === 'Closed');
    await q.closed;
    await assert.rejects(q.execute('query-status'), (e: unknown) => e instanceof QmpError && e.kind === 'Closed');
    server.close();
  });

  test('a missing socket is ConnectFailed, a silent server a greeting Timeout', async () => {
    await assert.rejects(QmpClient.connect(join(dir, 'missing.sock')), (e: unknown) => e instanceof QmpError && e.kind === 'ConnectFailed');
    const { path, server } = await fakeQmp(() => undefined, false);
    await assert.rejects(QmpClient.connect(path, { timeoutMs: 200 }), (e: unknown) => e instanceof QmpError && e.kind === 'Timeout');
    server.close();
  });

  test('garbage from the server is a Protocol error', async () => {
    const { path, server } = await fakeQmp((_m, s) => s.write('this is not json\r\n'));
    const q = await QmpClient.connect(path);
    await assert.rejects(q.execute('query-status'), (e: unknown) => e instanceof QmpError && e.kind === 'Protocol');
    server.close();
  });
});
