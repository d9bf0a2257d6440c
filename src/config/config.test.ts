import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, loadConfig, parseListen, publicBaseUrl } from './config.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stacklet-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A data dir with a stacklet.json holding `file`. */
function withFile(name: string, file: unknown): string {
  const d = join(dir, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'stacklet.json'), typeof file === 'string' ? file : JSON.stringify(file));
  return d;
}
describe('loadConfig', () => {
  test('defaults when nothing is given', () => {
    const cfg = loadConfig({ dataDir: join(dir, 'none') }, {});
    assert.deepEqual({ ...cfg, dataDir: DEFAULTS.dataDir }, DEFAULTS);
    assert.equal(cfg.dataDir, join(dir, 'none'));
  });

  test('flags beat env, env beats the file, the file beats defaults', () => {
    const d = withFile('layers', { listen: '127.0.0.2:9001', region: 'FileRegion', tokenTtlSeconds: 600, logLevel: 'warn', hostPrefix: 'fi' });
    const fileOnly = loadConfig({ dataDir: d }, {});
    assert.equal(fileOnly.listenHost, '127.0.0.2');
    assert.equal(fileOnly.listenPort, 9001);
    assert.equal(fileOnly.region, 'FileRegion');
    assert.equal(fileOnly.tokenTtlSeconds, 600);
    assert.equal(fileOnly.logLevel, 'warn');

    const env = { STACKLET_LISTEN: '127.0.0.3:9002', STACKLET_REGION: 'EnvRegion', STACKLET_TOKEN_TTL: '900', STACKLET_LOG_LEVEL: 'debug' };
    const withEnv = loadConfig({ dataDir: d }, env);
    assert.equal(withEnv.listenHost, '127.0.0.3');
    assert.equal(withEnv.listenPort, 9002);
    assert.equal(withEnv.region, 'EnvRegion');
    assert.equal(withEnv.tokenTtlSeconds, 900);
    assert.equal(withEnv.logLevel, 'debug');
    assert.equal(withEnv.hostPrefix, 'fi', 'what env does not set still comes from the file');

    const withFlags = loadConfig({ dataDir: d, listenHost: '127.0.0.4', listenPort: 9003, logLevel: 'error', hostPrefix: undefined }, env);
    assert.equal(withFlags.listenHost, '127.0.0.4');
    assert.equal(withFlags.listenPort, 9003);
    assert.equal(withFlags.logLevel, 'error');
    assert.equal(withFlags.region, 'EnvRegion');
    assert.equal(withFlags.hostPrefix, 'fi', 'an undefined flag does not erase a lower layer');
  });

  test('the data dir comes from the flag, else STACKLET_DATA_DIR, and locates the file', () => {
    const d = withFile('by-env', { region: 'FromEnvDir' });
    assert.equal(loadConfig({}, { STACKLET_DATA_DIR: d }).region, 'FromEnvDir');
    assert.equal(loadConfig({ dataDir: d }, { STACKLET_DATA_DIR: '/nonexistent' }).dataDir, d);
  });

  test('STACKLET_CONFIG names another file', () => {
    const d = withFile('alt', { region: 'Alt' });
    assert.equal(loadConfig({ dataDir: join(dir, 'none') }, { STACKLET_CONFIG: join(d, 'stacklet.json') }).region, 'Alt');
  });

  test('empty env values are ignored', () => {
    assert.equal(loadConfig({ dataDir: join(dir, 'none') }, { STACKLET_REGION: '', STACKLET_TOKEN_TTL: '' }).region, DEFAULTS.region);
  });

  test('bad values are a ConfigError that names the field', () => {
    const none = join(dir, 'none');
    const bad: [Record<string, string>, RegExp][] = [
      [{ STACKLET_TOKEN_TTL: 'soon' }, /tokenTtlSeconds/],
      [{ STACKLET_TOKEN_TTL: '10' }, /tokenTtlSeconds/],
      [{ STACKLET_TOKEN_TTL: '99999999' }, /tokenTtlSeconds/],
      [{ STACKLET_LOG_LEVEL: 'loud' }, /logLevel/],
      [{ STACKLET_HOST_PREFIX: 'Bad-Prefix' }, /hostPrefix/],
      [{ STACKLET_HOST_PREFIX: 'toolong' }, /hostPrefix/],
      [{ STACKLET_PASSWORD_HASH_COST: '12' }, /passwordHashCost/],
      [{ STACKLET_SANDBOX: 'bad name!' }, /sandbox/],
      [{ STACKLET_LISTEN: 'nohostport' }, /--listen wants HOST:PORT/],
      [{ STACKLET_LISTEN: '127.0.0.1:70000' }, /HOST:PORT/],
    ];
    for (const [env, msg] of bad) {
      assert.throws(() => loadConfig({ dataDir: none }, env), (e: unknown) => e instanceof ConfigError && msg.test(e.message), JSON.stringify(env));
    }
  });

  test('a bad file is a ConfigError naming the file', () => {
    const notJson = withFile('notjson', '{ nope');
    assert.throws(() => loadConfig({ dataDir: notJson }, {}), (e: unknown) => e instanceof ConfigError && e.message.includes(notJson));
    const arr = withFile('array', [1]);
    assert.throws(() => loadConfig({ dataDir: arr }, {}), (e: unknown) => e instanceof ConfigError && /JSON object/.test(e.message));
    const unknownKey = withFile('unknown', { colour: 'blue' });
    assert.throws(() => loadConfig({ dataDir: unknownKey }, {}), ConfigError);
    const wrongType = withFile('wrongtype', { listenPort: '8780' });
    assert.throws(() => loadConfig({ dataDir: wrongType }, {}), (e: unknown) => e instanceof ConfigError && /listenPort/.test(e.message));
    const badListen = withFile('badlisten', { listen: 'x' });
    assert.throws(() => loadConfig({ dataDir: badListen }, {}), ConfigError);
  });
});

describe('parseListen and publicBaseUrl', () => {
  test('host:port and [v6]:port', () => {
    assert.deepEqual(parseListen('0.0.0.0:8780'), { listenHost: '0.0.0.0', listenPort: 8780 });
    assert.deepEqual(parseListen('[::1]:80'), { listenHost: '::1', listenPort: 80 });
    assert.deepEqual(parseListen('localhost:1'), { listenHost: 'localhost', listenPort: 1 });
    for (const bad of ['8780', ':8780', '1.2.3.4:', '1.2.3.4:0', '1.2.3.4:65536', '::1:80', '[::1]', 'a:b']) {
      assert.throws(() => parseListen(bad), ConfigError, bad);
    }
  });

  test('the public URL never names a wildcard address', () => {
    const base = loadConfig({ dataDir: join(dir, 'none') }, {});
    assert.equal(publicBaseUrl({ ...base, listenHost: '0.0.0.0', listenPort: 1 }), 'http://127.0.0.1:1');
    assert.equal(publicBaseUrl({ ...base, listenHost: '::', listenPort: 2 }), 'http://[::1]:2');
    assert.equal(publicBaseUrl({ ...base, listenHost: '::1', listenPort: 3 }), 'http://[::1]:3');
    assert.equal(publicBaseUrl({ ...base, listenHost: '0.0.0.0', listenPort: 4, publicHost: 'cloud.lan' }), 'http://cloud.lan:4');
  });
});
