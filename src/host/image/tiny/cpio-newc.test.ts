import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeNewcCpio } from './cpio-newc.js';
import type { TreeEntry } from './types.js';

function parse(buf: Buffer): Array<{ name: string; mode: number; uid: number; size: number; rdev: [number, number]; data: string }> {
  const out = [];
  let at = 0;
  for (;;) {
    assert.equal(buf.toString('ascii', at, at + 6), '070701');
    const field = (i: number): number => parseInt(buf.toString('ascii', at + 6 + i * 8, at + 14 + i * 8), 16);
    const nameSize = field(11);
    const size = field(6);
    const name = buf.toString('utf8', at + 110, at + 110 + nameSize - 1);
    let pos = at + 110 + nameSize;
    pos += (4 - (pos % 4)) % 4;
    const data = buf.toString('utf8', pos, pos + size);
    pos += size;
    pos += (4 - (pos % 4)) % 4;
    if (name === 'TRAILER!!!') {
      assert.equal(pos, buf.length);
      return out;
    }
    out.push({ name, mode: field(1), uid: field(2), size, rdev: [field(9), field(10)] as [number, number], data });
    at = pos;
  }
}

test('newc archive: parents first, modes, owners, symlinks, device nodes, trailer', () => {
  const tree = new Map<string, TreeEntry>([
    ['/init', { kind: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') }],
    ['/home/cirros/.ssh', { kind: 'dir', mode: 0o700, uid: 1000 }],
    ['/home/cirros', { kind: 'dir', mode: 0o755, uid: 1000 }],
    ['/home', { kind: 'dir', mode: 0o755 }],
    ['/bin/sh', { kind: 'symlink', target: 'busybox' }],
    ['/bin', { kind: 'dir', mode: 0o755 }],
    ['/dev/console', { kind: 'chardev', mode: 0o600, major: 5, minor: 1 }],
    ['/dev', { kind: 'dir', mode: 0o755 }],
  ]);
  const entries = parse(writeNewcCpio(tree));
  const names = entries.map((e) => e.name);
  assert.ok(names.indexOf('home') < names.indexOf('home/cirros'));
  assert.ok(names.indexOf('home/cirros') < names.indexOf('home/cirros/.ssh'));
  const byName = new Map(entries.map((e) => [e.name, e]));
  assert.equal(byName.get('init')?.mode, 0o100755);
  assert.equal(byName.get('init')?.data, '#!/bin/sh\n');
  assert.equal(byName.get('home/cirros/.ssh')?.mode, 0o040700);
  assert.equal(byName.get('home/cirros/.ssh')?.uid, 1000);
  assert.equal(byName.get('bin/sh')?.mode, 0o120777);
  assert.equal(byName.get('bin/sh')?.data, 'busybox');
  assert.equal(byName.get('dev/console')?.mode, 0o020600);
  assert.deepEqual(byName.get('dev/console')?.rdev, [5, 1]);
});

test('rejects paths that escape the archive root', () => {
  assert.throws(() => writeNewcCpio(new Map([['/../etc/passwd', { kind: 'file', mode: 0o644, data: Buffer.alloc(0) }]])));
  assert.throws(() => writeNewcCpio(new Map([['relative', { kind: 'file', mode: 0o644, data: Buffer.alloc(0) }]])));
});
