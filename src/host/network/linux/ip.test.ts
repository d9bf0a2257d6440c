import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HostCommandError, type ExecOptions, type ExecResult, type HostExec } from '../../exec.js';
import { IpNs } from './ip.js';

/** Records every command; a link read answers "not found" unless the link is listed as present. */
class RecordingExec implements HostExec {
  readonly calls: { argv: string[]; stdin?: string; readOnly: boolean }[] = [];
  constructor(private readonly present: Record<string, object> = {}) {}

  run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({ argv: [...argv], ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }), readOnly: opts.readOnly === true });
    const dev = argv.indexOf('dev');
    const name = dev >= 0 ? argv[dev + 1] : undefined;
    if (argv.includes('-j') && argv.includes('link') && name !== undefined) {
      const link = this.present[name];
      if (!link) return Promise.reject(new HostCommandError('ip', argv.slice(1), 1, `Device "${name}" does not exist.`, null, false));
      return Promise.resolve({ stdout: JSON.stringify([link]), stderr: '', exitCode: 0 });
    }
    return Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });
  }

  get writes(): { argv: string[]; stdin?: string }[] {
    return this.calls.filter((c) => !c.readOnly);
  }
}

describe('IpNs: as few processes as a change needs', () => {
  test('a new veth leg is one add (up, on its bridge) and one batch for the peer (up, addresses)', async () => {
    const exec = new RecordingExec();
    const changed = await new IpNs(exec, 'slt-host').ensureVeth({
      name: 'sltv-1',
      peer: 'sltr-1',
      peerNetns: 'slt-qr-1',
      mtu: 1450,
      bridge: 'sltb-1',
      peerMac: 'fa:16:3e:00:00:01',
      peerCidrs: ['10.0.0.1/24', '172.24.4.9/32'],
    });
    assert.equal(changed, true);
    const w = exec.writes;
    assert.equal(w.length, 2, JSON.stringify(w));
    assert.deepEqual(w[0]?.argv.slice(3), [
      'link', 'add', 'name', 'sltv-1', 'mtu', '1450', 'up', 'master', 'sltb-1',
      'type', 'veth', 'peer', 'name', 'sltr-1', 'mtu', '1450', 'address', 'fa:16:3e:00:00:01', 'netns', 'slt-qr-1',
    ]);
    assert.deepEqual(w[1]?.argv, ['/usr/sbin/ip', '-n', 'slt-qr-1', '-batch', '-']);
    assert.equal(w[1]?.stdin, 'link set dev sltr-1 up\naddr add 10.0.0.1/24 dev sltr-1\naddr add 172.24.4.9/32 dev sltr-1\n');
    // Only the two looks that found nothing were reads.
    assert.equal(exec.calls.length, 4);
  });

  test('an existing pair is read and only what differs is changed', async () => {
    const link = (ifname: string, extra: object) => ({ ifname, ifindex: 1, mtu: 1450, address: 'fa:16:3e:00:00:01', flags: ['UP'], linkinfo: { info_kind: 'veth' }, ...extra });
    const exec = new RecordingExec({ 'sltv-1': link('sltv-1', { master: 'sltb-1', link_netnsid: 0 }), 'sltr-1': link('sltr-1', {}) });
    const changed = await new IpNs(exec, 'slt-host').ensureVeth({ name: 'sltv-1', peer: 'sltr-1', peerNetns: 'slt-qr-1', mtu: 1450, bridge: 'sltb-1', peerMac: 'fa:16:3e:00:00:01', peerCidrs: ['10.0.0.1/24'] });
    assert.equal(changed, true);
    // The address read answers nothing here, so the one address is added; nothing else is touched.
    assert.deepEqual(exec.writes.map((c) => c.argv.slice(3)), [['addr', 'add', '10.0.0.1/24', 'dev', 'sltr-1']]);
  });

  test('a new tap gets MTU, bridge and state in one command', async () => {
    const exec = new RecordingExec();
    assert.equal(await new IpNs(exec, null).ensureTap('sltt-1', 1450, 'sltb-1'), true);
    assert.deepEqual(exec.writes.map((c) => c.argv.slice(1)), [
      ['tuntap', 'add', 'dev', 'sltt-1', 'mode', 'tap'],
      ['link', 'set', 'dev', 'sltt-1', 'mtu', '1450', 'master', 'sltb-1', 'up'],
    ]);
  });

  test('a batch refuses a token that would split into two', async () => {
    const exec = new RecordingExec();
    const ip = new IpNs(exec, 'slt-qr-1');
    await assert.rejects(ip.batch([['link', 'set', 'dev', 'a b', 'up'], ['addr', 'add', '10.0.0.1/24', 'dev', 'x']]), /bad token/);
    await assert.rejects(ip.batch([['link', 'set', 'dev', 'a\nb', 'up'], ['addr', 'add', '10.0.0.1/24', 'dev', 'x']]), /bad token/);
    assert.equal(exec.calls.length, 0);
  });
});
