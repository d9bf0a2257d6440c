/**
 * Waits, inside the test's network namespace, until HOST:PORT answers with
 * an SSH banner, trying a fresh connection every 50 ms, and prints the
 * wall-clock time (ms since the epoch) it first did. Started before QEMU
 * so its own start-up cost does not count in a boot-time figure.
 *
 * Usage: node ssh-probe.(ts|js) HOST PORT TIMEOUT_MS
 */
import { connect } from 'node:net';

const [host, portText, timeoutText] = process.argv.slice(2);
if (!host || !portText || !timeoutText) {
  console.error('usage: ssh-probe HOST PORT TIMEOUT_MS');
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutText);
console.log('probing');

function attempt(): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port: Number(portText) });
    let got = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(400, () => done(false));
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.startsWith('SSH-')) done(true);
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

for (;;) {
  if (await attempt()) {
    console.log(JSON.stringify({ bannerAt: Date.now() }));
    process.exit(0);
  }
  if (Date.now() > deadline) {
    console.error(`no SSH banner from ${host}:${portText}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 50));
}
