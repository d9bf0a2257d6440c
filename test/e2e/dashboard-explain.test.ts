import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestCloud } from '../helpers/cloud.js';

/**
 * GET /stacklet/v1/explain over HTTP, as the dashboard calls it: the token
 * rules, the visibility of servers (another project's is a 404, as in the
 * compute API), input checks, and the walk's first step on a real server.
 * The later steps (router, floating IP, security groups) are pinned by the
 * unit tests of src/core/explain; checking "reachable" against a real SSH
 * needs the data plane and running VMs.
 */

type Row = Record<string, unknown>;
interface Explanation {
  reachable: boolean;
  steps: { check: string; ok: boolean; detail: string }[];
  blocker?: { message: string; fix: string };
}

let c: TestCloud;
let demo = '';
let vm1 = '';
let vm2 = '';

before(async () => {
  c = await TestCloud.start();
  const img = join(c.dataDir, 'stand-in.img');
  writeFileSync(img, Buffer.alloc(1024 * 1024));
  await c.os(['image', 'create', '--public', '--disk-format', 'raw', '--file', img, 'explain-image']);
  const demoCloud = { cloud: 'stacklet' };
  await c.os(['network', 'create', 'net1'], demoCloud);
  await c.os(['subnet', 'create', '--network', 'net1', '--subnet-range', '10.30.0.0/24', 'net1-subnet'], demoCloud);
  vm1 = String((await c.osJson<Row>(['server', 'create', '--flavor', 'm1.nano', '--image', 'explain-image', '--network', 'net1', 'vm1'], demoCloud))['id']);
  vm2 = String((await c.osJson<Row>(['server', 'create', '--flavor', 'm1.nano', '--image', 'explain-image', '--network', 'net1', 'vm2'], demoCloud))['id']);
  demo = await c.token('demo');
});
after(async () => {
  await c?.stop();
});

const explain = (query: string, token: string | null = demo) => c.api<Explanation & { error?: { message: string } }>('GET', `/stacklet/v1/explain?${query}`, token === null ? {} : { token });

describe('GET /stacklet/v1/explain', () => {
  test('walks the path and stops at the first blocker, with a fix', async () => {
    const r = await explain(`server=${vm1}&from=host&protocol=tcp&port=22`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.reachable, false);
    const status = String((await c.osJson<Row>(['server', 'show', 'vm1'], { cloud: 'stacklet' }))['status']);
    if (status === 'BUILD') {
      assert.deepEqual(r.body.steps.map((s) => [s.check, s.ok]), [['instance state', false]]);
      assert.equal(r.body.blocker?.message, 'instance vm1 is not running yet (BUILD)');
    } else {
      assert.ok(r.body.steps.length > 1, JSON.stringify(r.body));
    }
    assert.ok(r.body.blocker?.fix.includes('openstack'), JSON.stringify(r.body));
  });

  test('from another instance of the project', async () => {
    const r = await explain(`server=${vm1}&from=${vm2}&protocol=icmp`);
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof r.body.reachable, 'boolean');
    assert.ok(r.body.steps.length >= 1);
  });

  test('needs a token; another project cannot see the server (404), nor use it as the source', async () => {
    assert.equal((await explain(`server=${vm1}&protocol=icmp`, null)).status, 401);
    await c.os(['project', 'create', 'elsewhere']);
    await c.os(['user', 'create', '--password', 'else-pw-1', '--project', 'elsewhere', 'eve']);
    await c.os(['role', 'add', '--project', 'elsewhere', '--user', 'eve', 'member']);
    const eve = await c.token({ user: 'eve', password: 'else-pw-1', project: 'elsewhere' });
    const r = await explain(`server=${vm1}&protocol=icmp`, eve);
    assert.equal(r.status, 404, r.text);
    assert.match(r.body.error?.message ?? '', /No such instance/);
    const admin = await c.token('admin');
    assert.equal((await explain(`server=${vm1}&protocol=icmp`, admin)).status, 200, 'admin sees every project');
  });

  test('bad input is a 400 that says what to send', async () => {
    const cases: [string, RegExp][] = [
      [`server=${vm1}&protocol=tcp`, /port=22/],
      [`server=${vm1}&protocol=icmp&port=22`, /ICMP has no port/],
      [`server=${vm1}&protocol=sctp&port=1`, /one of: icmp, tcp, udp/],
      [`server=${vm1}&protocol=tcp&port=70000`, /port/],
      [`server=${vm1}&from=${vm1}&protocol=icmp`, /same instance/],
      [`protocol=icmp`, /server/],
      [`server=${vm1}&protocol=icmp&extra=1`, /extra/],
    ];
    for (const [q, msg] of cases) {
      const r = await explain(q);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.match(r.body.error?.message ?? '', msg, q);
    }
    assert.equal((await explain('server=no-such-server&protocol=icmp')).status, 404);
  });

  test('stays out of the catalog', async () => {
    const rows = await c.osJson<Row[]>(['catalog', 'list']);
    assert.ok(!rows.some((r) => String(r['Type']).includes('stacklet')), JSON.stringify(rows));
  });
});
