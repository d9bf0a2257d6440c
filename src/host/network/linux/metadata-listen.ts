/**
 * Helper process of the metadata proxy: started by Stacklet inside a
 * router or DHCP namespace with an IPC channel, it opens a listening TCP
 * socket there (sockets keep the namespace they were made in), hands the
 * socket to its parent over the channel (SCM_RIGHTS under Node's IPC) and
 * exits. Stacklet then serves it in-process: no resident process per
 * namespace.
 *
 * argv: <host> <port>
 */
import { createServer } from 'node:net';

const [host = '', portText = ''] = process.argv.slice(2);
const port = Number(portText);
const send = process.send?.bind(process);

if (!send || !host || !(port > 0 && port < 65536)) {
  process.stderr.write('usage: metadata-listen HOST PORT (with an IPC channel)\n');
  process.exit(2);
}

const server = createServer();
server.on('error', (err: Error) => {
  send({ ok: false, error: err.message }, undefined, undefined, () => process.exit(1));
});
server.listen({ host, port, exclusive: true }, () => {
  send({ ok: true }, server, undefined, () => {
    server.close();
    process.exit(0);
  });
});
