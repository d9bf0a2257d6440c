import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { TestCloud, type ApiResult } from '../helpers/cloud.js';

/**
 * The image service through Debian's `openstack` CLI (openstacksdk's image
 * proxy underneath): uploads of raw and qcow2 files, listing, properties,
 * sharing with another project, byte-identical downloads, deletion; then
 * the refusals, in Glance's error format.
 */

type Row = Record<string, unknown>;

let c: TestCloud;
let work = '';
let admin = '';
let demo = '';
let otherProject = '';
const OTHER_PW = 'other-secret-1';
const rawFile = () => join(work, 'random.raw');
const qcowFile = () => join(work, 'disk.qcow2');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** The CLI as user `other` (member of project `other`), through a clouds.yaml that adds that cloud. */
const asOther = (args: string[]) => c.openstack(args, { cloud: 'other', env: { OS_CLIENT_CONFIG_FILE: join(work, 'clouds.yaml') } });

function glanceError(r: ApiResult, status: number, message?: RegExp): void {
  assert.equal(r.status, status, `${status} wanted, got ${r.status}: ${r.text}`);
  const b = r.body as { message?: unknown; code?: unknown; title?: unknown };
  assert.equal(typeof b.message, 'string', `no Glance error body: ${r.text}`);
  assert.match(String(b.code), new RegExp(`^${status} `));
  assert.equal(typeof b.title, 'string');
  if (message) assert.match(String(b.message), message);
}

before(async () => {
  c = await TestCloud.start();
  work = mkdtempSync(join(tmpdir(), 'stacklet-image-e2e-'));
  writeFileSync(rawFile(), randomBytes(3 * 1024 * 1024 + 7));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcowFile(), '64M']);
  // Put some data into the qcow2 so it is not all header.
  execFileSync('qemu-io', ['-c', 'write -P 0xab 0 1M', qcowFile()], { stdio: 'ignore' });
  admin = await c.token('admin');
  demo = await c.token('demo');
  otherProject = (await c.osJson<Row>(['project', 'create', 'other'])).id as string;
  await c.os(['user', 'create', '--project', 'other', '--password', OTHER_PW, 'other']);
  await c.os(['role', 'add', '--project', 'other', '--user', 'other', 'member']);
  const other = [
    '  other:',
    '    auth:',
    `      auth_url: "${c.baseUrl}/identity"`,
    '      username: "other"',
    `      password: "${OTHER_PW}"`,
    '      project_name: "other"',
    '      user_domain_name: "Default"',
    '      project_domain_name: "Default"',
    '    region_name: "RegionOne"',
    '    identity_api_version: 3',
  ];
  writeFileSync(join(work, 'clouds.yaml'), `${readFileSync(c.cloudsYaml, 'utf8').trimEnd()}\n${other.join('\n')}\n`);
});
after(async () => {
  await c?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the openstack CLI', () => {
  let rawId = '';
  let qcowId = '';

  test('image create --file uploads raw and qcow2 (with --progress), hashed and inspected', async () => {
    const raw = await c.osJson<Row>(['image', 'create', '--file', rawFile(), '--disk-format', 'raw', '--progress', 'cli-raw'], { cloud: 'stacklet' });
    rawId = raw.id as string;
    const q = await c.osJson<Row>(['image', 'create', '--file', qcowFile(), '--disk-format', 'qcow2', '--container-format', 'bare', '--min-disk', '1', 'cli-qcow2'], {
      cloud: 'stacklet',
    });
    qcowId = q.id as string;

    const shown = await c.osJson<Row>(['image', 'show', rawId], { cloud: 'stacklet' });
    const rawBytes = readFileSync(rawFile());
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, rawBytes.length);
    assert.equal(shown.checksum, md5(rawBytes));
    const props = shown.properties as Row;
    assert.equal(props.os_hash_algo, 'sha512');
    assert.equal(props.os_hash_value, createHash('sha512').update(rawBytes).digest('hex'));
    assert.equal(shown.visibility, 'shared');
    assert.equal(shown.owner, (await c.osJson<Row>(['project', 'show', 'demo'])).id);
    assert.match(String(shown.file), new RegExp(`^/v2/images/${rawId}/file$`));

    const qs = await c.osJson<Row>(['image', 'show', 'cli-qcow2'], { cloud: 'stacklet' });
    assert.equal(qs.status, 'active');
    assert.equal(qs.disk_format, 'qcow2');
    assert.equal(qs.virtual_size, 64 * 1024 * 1024);
    assert.equal(qs.min_disk, 1);
    assert.equal(qs.checksum, md5(readFileSync(qcowFile())));
  });

  test('image list --long', async () => {
    const rows = await c.osJson<Row[]>(['image', 'list', '--long'], { cloud: 'stacklet' });
    const byName = new Map(rows.map((r) => [r.Name, r]));
    assert.equal(byName.get('cli-raw')?.Status, 'active');
    assert.equal(byName.get('cli-raw')?.['Disk Format'], 'raw');
    assert.equal(byName.get('cli-qcow2')?.['Container Format'], 'bare');
    assert.equal(byName.get('cli-qcow2')?.Size, readFileSync(qcowFile()).length);
    assert.equal(byName.get('cli-raw')?.Checksum, md5(readFileSync(rawFile())));
  });

  test('image set --property / --tag / unset, and list filters on them', async () => {
    await c.os(['image', 'set', '--property', 'hw_disk_bus=virtio', '--property', 'os_distro=cirros', '--tag', 'gold', '--min-ram', '64', rawId], { cloud: 'stacklet' });
    let shown = await c.osJson<Row>(['image', 'show', rawId], { cloud: 'stacklet' });
    assert.equal((shown.properties as Row).hw_disk_bus, 'virtio');
    assert.equal(shown.min_ram, 64);
    assert.deepEqual(shown.tags, ['gold']);
    const tagged = await c.osJson<Row[]>(['image', 'list', '--tag', 'gold'], { cloud: 'stacklet' });
    assert.deepEqual(tagged.map((r) => r.ID), [rawId]);
    const filtered = await c.api<{ images: Row[] }>('GET', '/image/v2/images?os_distro=cirros', { token: demo });
    assert.deepEqual(filtered.body.images.map((i) => i.id), [rawId]);
    await c.os(['image', 'unset', '--property', 'os_distro', '--tag', 'gold', rawId], { cloud: 'stacklet' });
    shown = await c.osJson<Row>(['image', 'show', rawId], { cloud: 'stacklet' });
    assert.equal((shown.properties as Row).os_distro, undefined);
    assert.deepEqual(shown.tags, []);
  });

  test('image add project + image set --accept as the other project', async () => {
    const before = await asOther(['image', 'list', '-f', 'json']);
    assert.equal(before.code, 0, before.stderr);
    assert.ok(!(JSON.parse(before.stdout) as Row[]).some((r) => r.ID === rawId), 'not listed before it is shared and accepted');

    const m = await c.osJson<Row>(['image', 'add', 'project', rawId, otherProject], { cloud: 'stacklet' });
    assert.equal(m.status, 'pending');
    assert.equal(m.member_id, otherProject);

    const accept = await asOther(['image', 'set', '--accept', rawId]);
    assert.equal(accept.code, 0, accept.stderr);
    const list = await asOther(['image', 'list', '-f', 'json']);
    assert.ok((JSON.parse(list.stdout) as Row[]).some((r) => r.ID === rawId), 'listed once accepted');
    const members = await c.osJson<Row[]>(['image', 'member', 'list', rawId], { cloud: 'stacklet' });
    assert.deepEqual(members.map((r) => [r['Member ID'], r.Status]), [[otherProject, 'accepted']]);

    // A member sees and downloads the image but may not change it.
    const set = await asOther(['image', 'set', '--property', 'x=y', rawId]);
    assert.notEqual(set.code, 0);
    assert.match(set.stderr, /403|not permitted/);
    const saved = join(work, 'as-other.raw');
    const save = await asOther(['image', 'save', '--file', saved, rawId]);
    assert.equal(save.code, 0, save.stderr);
    assert.ok(readFileSync(saved).equals(readFileSync(rawFile())));
  });

  test('image save --file round-trips byte-identical (raw and qcow2)', async () => {
    for (const [id, src] of [
      [rawId, rawFile()],
      [qcowId, qcowFile()],
    ] as const) {
      const out = join(work, `saved-${id}`);
      await c.os(['image', 'save', '--file', out, id], { cloud: 'stacklet' });
      const got = readFileSync(out);
      const want = readFileSync(src);
      assert.ok(got.equals(want), `${id} differs`);
      const shown = await c.osJson<Row>(['image', 'show', id], { cloud: 'stacklet' });
      assert.equal(md5(got), shown.checksum);
    }
  });

  test('image delete removes the image and its file', async () => {
    await c.os(['image', 'delete', qcowId], { cloud: 'stacklet' });
    const r = await c.openstack(['image', 'show', qcowId], { cloud: 'stacklet' });
    assert.notEqual(r.code, 0);
    assert.ok(!readdirSync(join(c.dataDir, 'images')).includes(qcowId));
  });

  test('a qcow2 with a backing file is refused with the reason, and nothing is kept', async () => {
    const bad = join(work, 'backed.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', '/etc/hostname', '-F', 'raw', bad, '1M']);
    const r = await c.openstack(['image', 'create', '--file', bad, '--disk-format', 'qcow2', 'backed'], { cloud: 'stacklet' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /400/);
    assert.match(r.stderr, /backing file \(\/etc\/hostname\)/);
    const lies = await c.openstack(['image', 'create', '--file', qcowFile(), '--disk-format', 'raw', 'liar'], { cloud: 'stacklet' });
    assert.match(lies.stderr, /declared raw but the data is qcow2/);
    assert.deepEqual(readdirSync(join(c.dataDir, 'images')).filter((n) => n.startsWith('.')), []);
  });
});

describe('the API', () => {
  const patchType = { 'content-type': 'application/openstack-images-v2.1-json-patch' };
  const octet = { 'content-type': 'application/octet-stream' };

  async function create(token: string, body: Row): Promise<Row> {
    const r = await c.api<Row>('POST', '/image/v2/images', { token, body });
    assert.equal(r.status, 201, r.text);
    return r.body;
  }
  async function upload(token: string, id: string, data: Uint8Array): Promise<ApiResult> {
    return c.api('PUT', `/image/v2/images/${id}/file`, { token, body: data, headers: octet });
  }

  test('version discovery: 300 at /image, 200 at /image/versions, v2 CURRENT', async () => {
    const root = await c.api<{ versions: Row[] }>('GET', '/image');
    assert.equal(root.status, 300);
    assert.equal(root.body.versions[0]?.status, 'CURRENT');
    assert.match(String((root.body.versions[0]?.links as Row[])[0]?.href), /\/image\/v2\/$/);
    assert.equal((await c.api('GET', '/image/versions')).status, 200);
  });

  test('schemas are served', async () => {
    const s = await c.api<Row>('GET', '/image/v2/schemas/image', { token: demo });
    assert.equal(s.body.name, 'image');
    assert.deepEqual(s.body.additionalProperties, { type: 'string' });
    assert.ok(((s.body.properties as Row).disk_format as { enum: unknown[] }).enum.includes('qcow2'));
    const l = await c.api<Row>('GET', '/image/v2/schemas/images', { token: demo });
    assert.equal(l.body.name, 'images');
    assert.equal((await c.api('GET', '/image/v2/schemas/members', { token: demo })).status, 200);
  });

  test('unknown disk_format, wrong types, read-only attributes', async () => {
    glanceError(await c.api('POST', '/image/v2/images', { token: demo, body: { name: 'x', disk_format: 'floppy' } }), 400, /disk_format.*one of/);
    glanceError(await c.api('POST', '/image/v2/images', { token: demo, body: { name: 'x', container_format: 'tar' } }), 400, /container_format/);
    glanceError(await c.api('POST', '/image/v2/images', { token: demo, body: { name: 'x', min_ram: '1' } }), 400, /min_ram/);
    glanceError(await c.api('POST', '/image/v2/images', { token: demo, body: { name: 'x', custom: 1 } }), 400, /string values/);
    glanceError(await c.api('POST', '/image/v2/images', { token: demo, body: { name: 'x', status: 'active' } }), 403, /read-only/);
    glanceError(await c.api('POST', '/image/v2/images', { token: demo, body: { name: 'x', visibility: 'public' } }), 403, /admin/);
    glanceError(await c.api('POST', '/image/v2/images', { token: demo, body: '{"name":', headers: { 'content-type': 'application/json' } }), 400);
  });

  test('JSON-patch: bad op, bad path, wrong content type, missing property', async () => {
    const img = await create(demo, { name: 'patchme', disk_format: 'raw', container_format: 'bare', os_distro: 'cirros' });
    const url = `/image/v2/images/${img.id as string}`;
    glanceError(await c.api('PATCH', url, { token: demo, body: JSON.stringify([{ op: 'move', path: '/name', value: 'n' }]), headers: patchType }), 400, /Invalid operation/);
    glanceError(await c.api('PATCH', url, { token: demo, body: JSON.stringify([{ op: 'add', path: 'name', value: 'n' }]), headers: patchType }), 400, /does not start with/);
    glanceError(await c.api('PATCH', url, { token: demo, body: JSON.stringify([{ op: 'add', path: '/a/b', value: 'n' }]), headers: patchType }), 400, /Invalid JSON pointer/);
    const wrongType = await c.api('PATCH', url, { token: demo, body: [{ op: 'replace', path: '/name', value: 'n' }] });
    glanceError(wrongType, 415, /json-patch/);
    assert.match(wrongType.headers.get('accept-patch') ?? '', /openstack-images-v2.1-json-patch/);
    glanceError(await c.api('PATCH', url, { token: demo, body: JSON.stringify([{ op: 'replace', path: '/nope', value: 'n' }]), headers: patchType }), 409, /does not exist/);
    glanceError(await c.api('PATCH', url, { token: demo, body: JSON.stringify([{ op: 'remove', path: '/name' }]), headers: patchType }), 403, /may not be removed/);
    glanceError(await c.api('PATCH', url, { token: demo, body: JSON.stringify([{ op: 'replace', path: '/size', value: 1 }]), headers: patchType }), 403, /read-only/);
    // A refused patch changes nothing, even when earlier operations were fine.
    glanceError(
      await c.api('PATCH', url, {
        token: demo,
        body: JSON.stringify([
          { op: 'replace', path: '/name', value: 'changed' },
          { op: 'remove', path: '/missing' },
        ]),
        headers: patchType,
      }),
      409,
    );
    const ok = await c.api<Row>('PATCH', url, {
      token: demo,
      body: JSON.stringify([
        { op: 'replace', path: '/os_distro', value: 'debian' },
        { op: 'add', path: '/hw_vif_model', value: 'virtio' },
        { op: 'replace', path: '/protected', value: true },
      ]),
      headers: patchType,
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.name, 'patchme');
    assert.equal(ok.body.os_distro, 'debian');
    assert.equal(ok.body.hw_vif_model, 'virtio');
    glanceError(await c.api('DELETE', url, { token: demo }), 403, /protected/);
  });

  test('upload rules: formats first, only once (409), quota (413 with the numbers)', async () => {
    const noFormat = await create(demo, { name: 'noformat' });
    glanceError(await upload(demo, noFormat.id as string, Buffer.alloc(512)), 400, /disk_format, container_format must be set/);

    const img = await create(demo, { name: 'once', disk_format: 'raw', container_format: 'bare' });
    const id = img.id as string;
    assert.equal((await upload(demo, id, Buffer.alloc(4096, 1))).status, 204);
    glanceError(await upload(demo, id, Buffer.alloc(4096, 2)), 409, /is active/);
    glanceError(await c.api('PUT', `/image/v2/images/${id}/file`, { token: demo, body: 'x', headers: { 'content-type': 'text/plain' } }), 415);

    const demoId = (await c.osJson<Row>(['project', 'show', 'demo'])).id as string;
    const db = new SQLite(join(c.dataDir, 'stacklet.db'));
    try {
      db.prepare('INSERT INTO image_quotas (project_id, max_bytes) VALUES (?, ?)').run(demoId, 20 * 1024 * 1024);
      const big = await create(demo, { name: 'too-big', disk_format: 'raw', container_format: 'bare' });
      const r = await upload(demo, big.id as string, Buffer.alloc(24 * 1024 * 1024));
      glanceError(r, 413, new RegExp(`project ${demoId} may keep 20971520 bytes`));
      const after = await c.api<Row>('GET', `/image/v2/images/${big.id as string}`, { token: demo });
      assert.equal(after.body.status, 'queued');
    } finally {
      db.prepare('DELETE FROM image_quotas WHERE project_id = ?').run(demoId);
      db.close();
    }
  });

  test('download: whole with Content-MD5, ranges 206/416, nothing for a queued image', async () => {
    const data = randomBytes(100_000);
    const img = await create(demo, { name: 'ranges', disk_format: 'raw', container_format: 'bare' });
    const id = img.id as string;
    const empty = await c.api('GET', `/image/v2/images/${id}/file`, { token: demo });
    assert.equal(empty.status, 204);
    assert.equal((await upload(demo, id, data)).status, 204);
    const whole = await fetch(`${c.baseUrl}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': demo } });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-md5'), md5(data));
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));
    const part = await fetch(`${c.baseUrl}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': demo, range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${data.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(1000, 2000)));
    const tail = await fetch(`${c.baseUrl}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': demo, range: 'bytes=-10' } });
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 10)));
    const bad = await c.api('GET', `/image/v2/images/${id}/file`, { token: demo, headers: { range: `bytes=${data.length}-` } });
    glanceError(bad, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${data.length}`);
  });

  test("another project's private image is 404; a public one can be seen but not changed", async () => {
    const priv = await create(admin, { name: 'admin-private', visibility: 'private', disk_format: 'raw', container_format: 'bare' });
    const url = `/image/v2/images/${priv.id as string}`;
    glanceError(await c.api('GET', url, { token: demo }), 404, /No image found/);
    glanceError(await c.api('GET', `${url}/file`, { token: demo }), 404);
    glanceError(await c.api('DELETE', url, { token: demo }), 404);
    glanceError(await c.api('PATCH', url, { token: demo, body: '[]', headers: patchType }), 404);
    glanceError(await c.api('PUT', `${url}/tags/x`, { token: demo }), 404);
    glanceError(await c.api('POST', `${url}/members`, { token: demo, body: { member: 'x' } }), 404);
    const listed = await c.api<{ images: Row[] }>('GET', '/image/v2/images', { token: demo });
    assert.ok(!listed.body.images.some((i) => i.id === priv.id));

    const pub = await create(admin, { name: 'admin-public', visibility: 'public', disk_format: 'raw', container_format: 'bare' });
    assert.equal((await c.api('GET', `/image/v2/images/${pub.id as string}`, { token: demo })).status, 200);
    glanceError(await c.api('DELETE', `/image/v2/images/${pub.id as string}`, { token: demo }), 403, /another project/);
  });

  test('members only on shared images; only the member accepts', async () => {
    const img = await create(demo, { name: 'to-share', visibility: 'private', disk_format: 'raw', container_format: 'bare' });
    const url = `/image/v2/images/${img.id as string}/members`;
    glanceError(await c.api('POST', url, { token: demo, body: { member: otherProject } }), 403, /Only shared images have members/);
    await c.api('PATCH', `/image/v2/images/${img.id as string}`, { token: demo, body: JSON.stringify([{ op: 'replace', path: '/visibility', value: 'shared' }]), headers: patchType });
    assert.equal((await c.api('POST', url, { token: demo, body: { member: otherProject } })).status, 200);
    glanceError(await c.api('POST', url, { token: demo, body: { member: otherProject } }), 409, /already/);
    glanceError(await c.api('PUT', `${url}/${otherProject}`, { token: demo, body: { status: 'accepted' } }), 403, /Only project/);
    const other = await c.token({ user: 'other', password: OTHER_PW, project: 'other' });
    glanceError(await c.api('PUT', `${url}/${otherProject}`, { token: other, body: { status: 'maybe' } }), 400, /pending, accepted, rejected/);
    const acc = await c.api<Row>('PUT', `${url}/${otherProject}`, { token: other, body: { status: 'rejected' } });
    assert.equal(acc.body.status, 'rejected');
    const mine = await c.api<{ members: Row[] }>('GET', url, { token: other });
    assert.deepEqual(mine.body.members.map((m) => m.member_id), [otherProject]);
    glanceError(await c.api('DELETE', `${url}/${otherProject}`, { token: other }), 403);
    assert.equal((await c.api('DELETE', `${url}/${otherProject}`, { token: demo })).status, 204);
    glanceError(await c.api('GET', `/image/v2/images/${img.id as string}`, { token: other }), 404);
  });

  test('deactivate / reactivate (admin only); deactivated data is not downloadable by others', async () => {
    const img = await create(demo, { name: 'deact', disk_format: 'raw', container_format: 'bare' });
    const id = img.id as string;
    glanceError(await c.api('POST', `/image/v2/images/${id}/actions/deactivate`, { token: admin }), 403, /status 'queued'/);
    await upload(demo, id, Buffer.alloc(1024));
    glanceError(await c.api('POST', `/image/v2/images/${id}/actions/deactivate`, { token: demo }), 403, /admin/);
    assert.equal((await c.api('POST', `/image/v2/images/${id}/actions/deactivate`, { token: admin })).status, 204);
    assert.equal((await c.api<Row>('GET', `/image/v2/images/${id}`, { token: demo })).body.status, 'deactivated');
    glanceError(await c.api('GET', `/image/v2/images/${id}/file`, { token: demo }), 403, /deactivated/);
    assert.equal((await c.api('GET', `/image/v2/images/${id}/file`, { token: admin })).status, 200);
    assert.equal((await c.api('POST', `/image/v2/images/${id}/actions/reactivate`, { token: admin })).status, 204);
    assert.equal((await c.api('GET', `/image/v2/images/${id}/file`, { token: demo })).status, 200);
  });

  test('tags: PUT and DELETE, 404 for a tag that is not there', async () => {
    const img = await create(demo, { name: 'tags' });
    const id = img.id as string;
    assert.equal((await c.api('PUT', `/image/v2/images/${id}/tags/blue`, { token: demo })).status, 204);
    assert.equal((await c.api('PUT', `/image/v2/images/${id}/tags/blue`, { token: demo })).status, 204);
    assert.deepEqual((await c.api<Row>('GET', `/image/v2/images/${id}`, { token: demo })).body.tags, ['blue']);
    assert.equal((await c.api('DELETE', `/image/v2/images/${id}/tags/blue`, { token: demo })).status, 204);
    glanceError(await c.api('DELETE', `/image/v2/images/${id}/tags/blue`, { token: demo }), 404);
  });

  test('pagination follows `next` links and sorting is honoured', async () => {
    for (let i = 0; i < 5; i++) await create(demo, { name: `page-${i}`, tags: ['paged'] });
    const seen: string[] = [];
    let next: string | undefined = '/v2/images?tag=paged&limit=2&sort=name:asc';
    while (next) {
      const r: ApiResult<{ images: Row[]; next?: string }> = await c.api('GET', `/image${next}`, { token: demo });
      assert.equal(r.status, 200, r.text);
      seen.push(...r.body.images.map((i) => String(i.name)));
      next = r.body.next;
    }
    assert.deepEqual(seen, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    glanceError(await c.api('GET', '/image/v2/images?marker=00000000-0000-0000-0000-000000000000', { token: demo }), 400, /marker/);

    // More than one default page (25): the CLI follows `next` and lists them all.
    for (let i = 0; i < 27; i++) await create(demo, { name: `many-${String(i).padStart(2, '0')}`, tags: ['many'] });
    const all = await c.osJson<Row[]>(['image', 'list', '--tag', 'many'], { cloud: 'stacklet' });
    assert.equal(all.length, 27);
    const limited = await c.osJson<Row[]>(['image', 'list', '--tag', 'many', '--limit', '5'], { cloud: 'stacklet' });
    assert.equal(limited.length, 5);
  });

  test('no token is 401 in Glance format', async () => {
    glanceError(await c.api('GET', '/image/v2/images'), 401);
  });
});
