import type { TreeEntry } from './types.js';

/**
 * Writes a "newc" (SVR4, no CRC) cpio archive, the format the kernel unpacks
 * as an initramfs. Writing it here means no host cpio, no root for device
 * nodes, and byte-identical output for identical input (mtime 0, sorted).
 */

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function header(fields: {
  ino: number;
  mode: number;
  owner: number;
  nlink: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  nameSize: number;
}): Buffer {
  const parts = [
    '070701',
    hex8(fields.ino),
    hex8(fields.mode),
    hex8(fields.owner), // uid
    hex8(fields.owner), // gid: each owner has a group of the same number
    hex8(fields.nlink),
    hex8(0), // mtime: fixed so builds are reproducible
    hex8(fields.size),
    hex8(0),
    hex8(0),
    hex8(fields.rdevMajor),
    hex8(fields.rdevMinor),
    hex8(fields.nameSize),
    hex8(0),
  ];
  return Buffer.from(parts.join(''), 'ascii');
}

function record(chunks: Buffer[], ino: number, name: string, mode: number, data: Buffer, nlink: number, rdev = [0, 0], owner = 0): void {
  const nameBuf = Buffer.from(`${name}\0`, 'utf8');
  const head = header({
    ino,
    mode,
    owner,
    nlink,
    size: data.length,
    rdevMajor: rdev[0] ?? 0,
    rdevMinor: rdev[1] ?? 0,
    nameSize: nameBuf.length,
  });
  chunks.push(head, nameBuf, pad4(head.length + nameBuf.length), data, pad4(data.length));
}

/**
 * Packs a tree (absolute guest paths → entries) into a newc archive.
 * Parents are emitted before children because the kernel's unpacker does
 * not create missing directories.
 */
export function writeNewcCpio(tree: ReadonlyMap<string, TreeEntry>): Buffer {
  for (const path of tree.keys()) {
    if (!path.startsWith('/') || path.includes('//') || path.split('/').includes('..')) {
      throw new Error(`cpio: bad path ${JSON.stringify(path)}`);
    }
  }
  const chunks: Buffer[] = [];
  const paths = [...tree.keys()].sort((a, b) => {
    const da = a.split('/').length;
    const db = b.split('/').length;
    return da !== db ? da - db : a < b ? -1 : a > b ? 1 : 0;
  });
  let ino = 1;
  for (const path of paths) {
    const e = tree.get(path);
    if (!e || path === '/') continue;
    const name = path.slice(1);
    switch (e.kind) {
      case 'dir':
        record(chunks, ino++, name, S_IFDIR | e.mode, Buffer.alloc(0), 2, [0, 0], e.uid ?? 0);
        break;
      case 'file':
        record(chunks, ino++, name, S_IFREG | e.mode, e.data, 1);
        break;
      case 'symlink':
        record(chunks, ino++, name, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8'), 1);
        break;
      case 'chardev':
        record(chunks, ino++, name, S_IFCHR | e.mode, Buffer.alloc(0), 1, [e.major, e.minor]);
        break;
    }
  }
  record(chunks, 0, 'TRAILER!!!', 0, Buffer.alloc(0), 1);
  return Buffer.concat(chunks);
}
