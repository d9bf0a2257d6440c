import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExplainArgs, renderExplanation, UsageError } from './explain.js';
import { CloudsFileError, parseCloudsYaml, readCloudCredentials } from './clouds-file.js';
import { errorMessageOf } from './client.js';
import { cloudsYaml } from '../daemon/clouds.js';
import type { Explanation } from '../core/explain/model.js';

test('explain arguments: defaults are tcp/22 from the host with the demo cloud', () => {
  assert.deepEqual(parseExplainArgs(['vm1']), { server: 'vm1', from: 'host', probe: { protocol: 'tcp', port: 22 }, cloud: 'stacklet', dataDir: undefined, json: false });
  assert.deepEqual(parseExplainArgs(['vm1', '--protocol', 'icmp', '--from', 'vm2', '--cloud', 'stacklet-admin', '--data-dir', '/d', '--json']), {
    server: 'vm1',
    from: 'vm2',
    probe: { protocol: 'icmp' },
    cloud: 'stacklet-admin',
    dataDir: '/d',
    json: true,
  });
  assert.deepEqual(parseExplainArgs(['--port', '8080', 'web']).probe, { protocol: 'tcp', port: 8080 });
  assert.deepEqual(parseExplainArgs(['dns', '--protocol', 'UDP', '--port', '53']).probe, { protocol: 'udp', port: 53 });
});

test('explain arguments: what cannot be asked is a usage error that says why', () => {
  const cases: [string[], RegExp][] = [
    [[], /name the instance/],
    [['a', 'b'], /one instance at a time/],
    [['vm1', '--protocol', 'sctp'], /icmp, tcp or udp/],
    [['vm1', '--protocol', 'icmp', '--port', '22'], /ICMP has no port/],
    [['vm1', '--protocol', 'udp'], /give the udp port/],
    [['vm1', '--port', '0'], /1 to 65535/],
    [['vm1', '--port', '65536'], /1 to 65535/],
    [['vm1', '--port', '22x'], /1 to 65535/],
    [['vm1', '--port', '-1'], /./],
    [['vm1', '--from', 'vm1'], /same instance/],
    [['vm1', '--bogus'], /bogus[\s\S]*usage: stacklet explain/],
  ];
  for (const [argv, msg] of cases) {
    assert.throws(() => parseExplainArgs(argv), (err: unknown) => err instanceof UsageError && msg.test(err.message), argv.join(' '));
  }
});

const blocked: Explanation = {
  reachable: false,
  steps: [
    { check: 'instance state', ok: true, detail: 'vm is ACTIVE' },
    { check: 'floating IP', ok: true, detail: '172.24.4.20 is associated with 10.0.0.5' },
    { check: 'security groups', ok: false, detail: 'no ingress rule in default matches tcp/22' },
  ],
  blocker: { message: 'no rule in security group default allows tcp/22 ingress', fix: 'openstack security group rule create --protocol tcp --dst-port 22 default' },
};

test('rendering: the verdict, every step, and the first blocker with its fix', () => {
  const text = renderExplanation(blocked, { id: 'id-1', name: 'vm' }, 'host', { protocol: 'tcp', port: 22 });
  assert.equal(
    text,
    [
      'vm is NOT reachable from the host over tcp/22.',
      '  ok       instance state: vm is ACTIVE',
      '  ok       floating IP: 172.24.4.20 is associated with 10.0.0.5',
      '  BLOCKED  security groups: no ingress rule in default matches tcp/22',
      'no rule in security group default allows tcp/22 ingress — add it: openstack security group rule create --protocol tcp --dst-port 22 default',
      '',
    ].join('\n'),
  );
  const state: Explanation = {
    reachable: false,
    steps: [{ check: 'instance state', ok: false, detail: 'vm is SHUTOFF' }],
    blocker: { message: 'instance vm is stopped', fix: 'openstack server start vm' },
  };
  assert.match(renderExplanation(state, { id: 'i', name: 'vm' }, { id: 's', name: 'web' }, { protocol: 'icmp' }), /^vm is NOT reachable from instance web with ping \(icmp\)\.\n[\s\S]*instance vm is stopped — fix: openstack server start vm\n$/);
  const ok: Explanation = { reachable: true, steps: [{ check: 'security groups', ok: true, detail: 'a rule in security group default allows icmp from anywhere' }] };
  assert.equal(renderExplanation(ok, { id: 'i', name: '' }, 'host', { protocol: 'icmp' }), 'i is reachable from the host with ping (icmp).\n  ok       security groups: a rule in security group default allows icmp from anywhere\n');
});

test('clouds.yaml: the file Stacklet writes is read back, with the cloud asked for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slb-clouds-'));
  try {
    const file = join(dir, 'clouds.yaml');
    const secrets = { adminPassword: 'a"d\\min pw', demoPassword: "de'mo: #pw" } as Parameters<typeof cloudsYaml>[0]['secrets'];
    writeFileSync(file, cloudsYaml({ baseUrl: 'http://127.0.0.1:8780', region: 'RegionOne', secrets }));
    assert.deepEqual(readCloudCredentials(file, 'stacklet'), {
      authUrl: 'http://127.0.0.1:8780/identity',
      username: 'demo',
      password: "de'mo: #pw",
      projectName: 'demo',
      userDomainName: 'Default',
      projectDomainName: 'Default',
      regionName: 'RegionOne',
    });
    assert.equal(readCloudCredentials(file, 'stacklet-admin').password, 'a"d\\min pw');
    assert.throws(() => readCloudCredentials(file, 'nope'), /no cloud "nope" \(it has: stacklet, stacklet-admin\)/);
    assert.throws(() => readCloudCredentials(join(dir, 'missing.yaml'), 'stacklet'), /stacklet up/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('clouds.yaml: any YAML a user may write (anchors, flow style, comments); a cloud list without auth is refused clearly', () => {
  const doc = parseCloudsYaml("# c\nbase: &b\n  auth_url: http://h/identity # note\nclouds:\n  x:\n    auth: {<<: *b, username: 'it''s'}\n\n    region_name: R\n");
  assert.deepEqual(doc['clouds'], { x: { auth: { auth_url: 'http://h/identity', username: "it's" }, region_name: 'R' } });
  assert.throws(() => parseCloudsYaml('- a\n- b\n'), (e: unknown) => e instanceof CloudsFileError && /mapping/.test(e.message));
  assert.throws(() => parseCloudsYaml('a: "unterminated\n'), (e: unknown) => e instanceof CloudsFileError && /not valid YAML/.test(e.message));
});

test('API errors: the message of each service’s body', () => {
  assert.equal(errorMessageOf(404, '{"itemNotFound":{"code":404,"message":"Instance x could not be found."}}'), 'Instance x could not be found.');
  assert.equal(errorMessageOf(400, '{"error":{"code":400,"title":"Bad Request","message":"Give the tcp port"}}'), 'Give the tcp port');
  assert.equal(errorMessageOf(409, '{"NeutronError":{"type":"X","message":"in use","detail":""}}'), 'in use');
  assert.equal(errorMessageOf(502, ''), 'HTTP 502');
  assert.equal(errorMessageOf(500, 'plain words'), 'plain words');
});
