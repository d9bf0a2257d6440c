/**
 * A tiny metadata service for tests, run inside the test's network
 * namespace: serves ROOT/<client IP>/<path> so each guest sees only its own
 * data, as Stacklet's real metadata proxy does. A directory answers with
 * its "_index" file (EC2 listings such as /latest/meta-data/public-keys/).
 *
 * Usage: node metadata-responder.(ts|js) ROOT ADDRESS PORT
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';

const [root, address, portText] = process.argv.slice(2);
if (!root || !address || !portText) {
  console.error('usage: metadata-responder ROOT ADDRESS PORT');
  process.exit(2);
}

const server = createServer((req, res) => {
  void (async () => {
    const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const base = join(root, client);
    const target = normalize(join(base, urlPath));
    let status = 404;
    let body: Buffer = Buffer.from('not found\n');
    if (target === base || target.startsWith(base + sep)) {
      const st = await stat(target).catch(() => undefined);
      const file = st?.isDirectory() ? join(target, '_index') : target;
      const data = await readFile(file).catch(() => undefined);
      if (data) {
        status = 200;
        body = data;
      }
    }
    console.log(`${client} ${req.method ?? '?'} ${urlPath} ${status}`);
    res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  })();
});
server.listen(Number(portText), address, () => console.log(`listening on ${address}:${portText}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
