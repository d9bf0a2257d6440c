import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestCloud, type ApiResult } from '../helpers/cloud.js';

/**
 * Passwords and application-credential secrets are seen once: in the request
 * that sets them and, for a generated secret, in the one create response.
 * Never in the log (at trace level), never in any other response, never in
 * the store as plain text.
 */

type Row = Record<string, unknown>;

let c: TestCloud;

before(async () => {
  c = await TestCloud.start({ env: { STACKLET_LOG_LEVEL: 'trace' } });
});
after(async () => {
  await c?.stop();
});

test('a session of creates and authentications leaks no password or secret', async () => {
  const mark = (what: string) => `Mk-${what}-${Math.random().toString(36).slice(2, 10)}-zq`;
  const markers = {
    userPw: mark('userpw'),
    userPw2: mark('userpw2'),
    selfPw: mark('selfpw'),
    wrongPw: mark('wrongpw'),
    cliPw: mark('clipw'),
    cliPw2: mark('clipw2'),
    acSecret: mark('acsecret'),
    badJsonPw: mark('badjson'),
    badTypePw: mark('badtype'),
  };
  const responses: { label: string; r: ApiResult }[] = [];
  const oneTime: string[] = []; // texts allowed to hold a secret (the app credential create answers)
  const call = async (label: string, method: string, path: string, opts: Parameters<TestCloud['api']>[2] = {}) => {
    const r = await c.api(method, path, opts);
    responses.push({ label, r });
    return r;
  };

  const admin = await c.token('admin');
  const project = (await call('project create', 'POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'sec-proj' } } })).body as { project: Row };
  const pid = String(project.project['id']);
  const created = await call('user create', 'POST', '/identity/v3/users', { token: admin, body: { user: { name: 'sec-user', password: markers.userPw, default_project_id: pid } } });
  assert.equal(created.status, 201);
  const uid = String((created.body as { user: Row }).user['id']);
  const roles = (await call('role list', 'GET', '/identity/v3/roles?name=member', { token: admin })).body as { roles: Row[] };
  await call('grant', 'PUT', `/identity/v3/projects/${pid}/users/${uid}/roles/${String(roles.roles[0]?.['id'])}`, { token: admin });

  const auth = (password: string) => ({
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'sec-user', domain: { id: 'default' }, password } } },
      scope: { project: { id: pid } },
    },
  });
  const ok = await call('auth ok', 'POST', '/identity/v3/auth/tokens', { body: auth(markers.userPw) });
  assert.equal(ok.status, 201, ok.text);
  const userToken = String(ok.headers.get('x-subject-token'));
  assert.equal((await call('auth wrong', 'POST', '/identity/v3/auth/tokens', { body: auth(markers.wrongPw) })).status, 401);
  assert.equal(
    (await call('auth bad json', 'POST', '/identity/v3/auth/tokens', { body: `{"auth":{"identity":{"password":"${markers.badJsonPw}"`, headers: { 'content-type': 'application/json' } })).status,
    400,
  );
  assert.equal(
    (await call('auth bad type', 'POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { name: 'sec-user', domain: { id: 'default' }, password: [markers.badTypePw] } } } } } })).status,
    400,
  );
  assert.equal(
    (await call('user create bad type', 'POST', '/identity/v3/users', { token: admin, body: { user: { name: 7, password: markers.badTypePw } } })).status,
    400,
  );

  // Admin resets the password, then the user changes it with the old one.
  assert.equal((await call('admin reset', 'PATCH', `/identity/v3/users/${uid}`, { token: admin, body: { user: { password: markers.userPw2 } } })).status, 200);
  assert.equal(
    (await call('self change wrong', 'POST', `/identity/v3/users/${uid}/password`, { body: { user: { password: markers.selfPw, original_password: markers.wrongPw } } })).status,
    401,
  );
  assert.equal(
    (await call('self change', 'POST', `/identity/v3/users/${uid}/password`, { body: { user: { password: markers.selfPw, original_password: markers.userPw2 } } })).status,
    204,
  );
  const ok2 = await call('auth new pw', 'POST', '/identity/v3/auth/tokens', { body: auth(markers.selfPw) });
  assert.equal(ok2.status, 201);
  const userToken2 = String(ok2.headers.get('x-subject-token'));
  assert.equal((await call('old token', 'GET', '/identity/v3/auth/projects', { token: userToken })).status, 401, 'a password change ends old tokens');

  // Application credentials: one with a chosen secret, one generated.
  const ac1 = await c.api('POST', `/identity/v3/users/${uid}/application_credentials`, { token: userToken2, body: { application_credential: { name: 'chosen', secret: markers.acSecret } } });
  assert.equal(ac1.status, 201, ac1.text);
  oneTime.push(ac1.text);
  const ac2 = await c.api('POST', `/identity/v3/users/${uid}/application_credentials`, { token: userToken2, body: { application_credential: { name: 'generated' } } });
  assert.equal(ac2.status, 201, ac2.text);
  oneTime.push(ac2.text);
  const ac1Id = String((ac1.body as { application_credential: Row }).application_credential['id']);
  const ac2Id = String((ac2.body as { application_credential: Row }).application_credential['id']);
  const generated = String((ac2.body as { application_credential: Row }).application_credential['secret']);
  assert.ok(generated.length >= 20);
  assert.equal((ac1.body as { application_credential: Row }).application_credential['secret'], markers.acSecret);

  const acAuth = (id: string, secret: string) => ({ auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } });
  assert.equal((await call('ac auth', 'POST', '/identity/v3/auth/tokens', { body: acAuth(ac1Id, markers.acSecret) })).status, 201);
  assert.equal((await call('ac auth gen', 'POST', '/identity/v3/auth/tokens', { body: acAuth(ac2Id, generated) })).status, 201);
  assert.equal((await call('ac auth wrong', 'POST', '/identity/v3/auth/tokens', { body: acAuth(ac1Id, markers.wrongPw) })).status, 401);
  await call('ac list', 'GET', `/identity/v3/users/${uid}/application_credentials`, { token: userToken2 });
  await call('ac show', 'GET', `/identity/v3/users/${uid}/application_credentials/${ac1Id}`, { token: userToken2 });
  await call('ac show gen', 'GET', `/identity/v3/users/${uid}/application_credentials/${ac2Id}`, { token: admin });
  await call('user show', 'GET', `/identity/v3/users/${uid}`, { token: admin });
  await call('user list', 'GET', '/identity/v3/users', { token: admin });
  await call('token show', 'GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': userToken2 } });
  await call('assignments', 'GET', '/identity/v3/role_assignments?include_names=true', { token: admin });

  // The same through the CLI, which sends passwords its own way.
  await c.os(['user', 'create', '--password', markers.cliPw, '--project', 'sec-proj', 'sec-cli']);
  await c.os(['role', 'add', '--user', 'sec-cli', '--project', 'sec-proj', 'reader']);
  const cliEnv = { OS_CLOUD: '', OS_AUTH_URL: `${c.baseUrl}/identity`, OS_USERNAME: 'sec-cli', OS_PASSWORD: markers.cliPw, OS_PROJECT_NAME: 'sec-proj', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
  await c.os(['token', 'issue'], { env: cliEnv });
  await c.os(['user', 'set', '--password', markers.cliPw2, 'sec-cli']);
  assert.notEqual((await c.openstack(['token', 'issue'], { env: cliEnv })).code, 0);
  await c.os(['token', 'issue'], { env: { ...cliEnv, OS_PASSWORD: markers.cliPw2 } });
  const shown = await c.os(['user', 'show', 'sec-cli']);
  assert.ok(!shown.includes(markers.cliPw) && !shown.includes(markers.cliPw2));

  // Let the asynchronous log writer flush.
  await c.down();

  const secrets = [...Object.values(markers), generated];
  const { adminPassword, demoPassword } = c.secrets;
  const log = readFileSync(c.logFile, 'utf8');
  assert.ok(log.length > 1000, 'the trace log was written');
  assert.ok(log.includes('"level":10') || log.includes('"level":20') || log.includes('incoming request'), 'the log holds request lines');
  for (const s of [...secrets, adminPassword, demoPassword]) {
    assert.ok(!log.includes(s), `the log holds a secret (${s.slice(0, 12)}…)`);
    assert.ok(!c.output.includes(s), 'the daemon printed a secret');
  }
  for (const t of [userToken, userToken2, admin]) assert.ok(!log.includes(t), 'the log holds a token');

  for (const { label, r } of responses) {
    const all = `${r.text}\n${JSON.stringify([...r.headers.entries()])}`;
    for (const s of secrets) assert.ok(!all.includes(s), `response "${label}" holds a secret: ${r.text.slice(0, 300)}`);
  }
  // The create answers hold exactly their own secret and nothing else secret.
  assert.ok(oneTime[0]?.includes(markers.acSecret));
  for (const s of secrets.filter((x) => x !== markers.acSecret && x !== generated)) {
    for (const text of oneTime) assert.ok(!text.includes(s));
  }

  // The store holds hashes only.
  const storeFiles = readdirSync(c.dataDir).filter((f) => f.startsWith('stacklet.db'));
  assert.ok(storeFiles.length >= 1);
  for (const f of storeFiles) {
    const bytes = readFileSync(join(c.dataDir, f));
    for (const s of [...secrets, adminPassword, demoPassword]) assert.ok(!bytes.includes(s), `${f} holds a secret in plain text`);
  }
  assert.ok(existsSync(join(c.dataDir, 'secrets.json')));
});
