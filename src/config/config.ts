import { readFileSync, existsSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The daemon's one configuration. Sources, strongest first: command-line
 * flags, STACKLET_* environment variables, the config file
 * (<data dir>/stacklet.json, or STACKLET_CONFIG), then defaults.
 */
export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1 }),
    listenHost: Type.String({ minLength: 1 }),
    listenPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    /** Host name put into catalog URLs; defaults to the listen host (127.0.0.1 when listening on 0.0.0.0). */
    publicHost: Type.Optional(Type.String({ minLength: 1 })),
    /** Network namespace that holds the whole host data plane (tests, CI, demos). */
    sandbox: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$' })),
    /**
     * Whether this process drives the host (networks, VMs). Off, it serves
     * the APIs only: desired state is stored, nothing on the machine changes
     * (API tests, or a control plane whose agents run elsewhere).
     */
    dataPlane: Type.Boolean(),
    /** On the first start, create the seed topology (public, private, router1, open ICMP/SSH) and the tiny image `cirros`. */
    seed: Type.Boolean(),
    /** Prefix of every name the data plane creates on the host. */
    hostPrefix: Type.String({ pattern: '^[a-z][a-z0-9]{0,4}$' }),
    tokenTtlSeconds: Type.Integer({ minimum: 60, maximum: 7 * 24 * 3600 }),
    logLevel: Type.Union([
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ]),
    region: Type.String({ minLength: 1 }),
    /** scrypt cost parameter N (a power of two). */
    passwordHashCost: Type.Integer({ minimum: 1024, maximum: 1 << 20 }),
    /** Seconds between the data plane's periodic resyncs (drift repair, garbage collection); 0 turns them off. */
    resyncSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
    /** Nice value of guest vCPU threads, so booting guests never starve the control plane; 0 runs them at normal priority. */
    guestNice: Type.Integer({ minimum: 0, maximum: 19 }),
    /** TCG translation cache per guest in MiB; 0 picks the per-machine default (docs/compute-driver.md: boot speed against memory). */
    tcgTbSizeMiB: Type.Integer({ minimum: 0, maximum: 4096 }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

export const DEFAULTS: Config = {
  dataDir: '/var/lib/stacklet',
  listenHost: '127.0.0.1',
  listenPort: 8780,
  dataPlane: true,
  seed: true,
  hostPrefix: 'sl',
  tokenTtlSeconds: 3600,
  logLevel: 'info',
  region: 'RegionOne',
  passwordHashCost: 1 << 14,
  resyncSeconds: 60,
  guestNice: 10,
  tcgTbSizeMiB: 0,
};

export type ConfigOverrides = Partial<Config>;

const ENV: Record<string, keyof Config> = {
  STACKLET_DATA_DIR: 'dataDir',
  STACKLET_PUBLIC_HOST: 'publicHost',
  STACKLET_SANDBOX: 'sandbox',
  STACKLET_HOST_PREFIX: 'hostPrefix',
  STACKLET_TOKEN_TTL: 'tokenTtlSeconds',
  STACKLET_LOG_LEVEL: 'logLevel',
  STACKLET_REGION: 'region',
  STACKLET_PASSWORD_HASH_COST: 'passwordHashCost',
  STACKLET_DATA_PLANE: 'dataPlane',
  STACKLET_SEED: 'seed',
  STACKLET_RESYNC_SECONDS: 'resyncSeconds',
  STACKLET_GUEST_NICE: 'guestNice',
  STACKLET_TCG_TB_SIZE: 'tcgTbSizeMiB',
};

const NUMERIC = new Set<keyof Config>(['listenPort', 'tokenTtlSeconds', 'passwordHashCost', 'resyncSeconds', 'guestNice', 'tcgTbSizeMiB']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses "HOST:PORT" (or "[v6]:PORT"). */
export function parseListen(value: string): { listenHost: string; listenPort: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new ConfigError(`--listen wants HOST:PORT (e.g. 127.0.0.1:8780 or 0.0.0.0:8780), got "${value}"`);
  }
  return { listenHost: m[1] ?? m[2] ?? '', listenPort: port };
}

function fromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    out[key] = NUMERIC.has(key) ? Number(v) : key === 'dataPlane' || key === 'seed' ? !/^(0|false|no|off)$/i.test(v) : v;
  }
  const listen = env['STACKLET_LISTEN'];
  if (listen) Object.assign(out, parseListen(listen));
  return out as ConfigOverrides;
}

function fromFile(path: string): ConfigOverrides {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  const obj = { ...(raw as Record<string, unknown>) };
  if (typeof obj['listen'] === 'string') {
    Object.assign(obj, parseListen(obj['listen']));
    delete obj['listen'];
  }
  return obj as ConfigOverrides;
}

/** Builds the effective config; throws ConfigError with the field and what to do. */
export function loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const envPart = fromEnv(env);
  const dataDir = flags.dataDir ?? envPart.dataDir ?? DEFAULTS.dataDir;
  const file = env['STACKLET_CONFIG'] ?? `${dataDir}/stacklet.json`;
  const filePart = existsSync(file) ? fromFile(file) : {};
  const merged = { ...DEFAULTS, ...filePart, ...envPart, ...stripUndefined(flags), dataDir };
  if (!Value.Check(ConfigSchema, merged)) {
    const first = [...Value.Errors(ConfigSchema, merged)][0];
    const where = first ? `${first.path.replace(/^\//, '') || '(root)'}: ${first.message}` : 'invalid';
    throw new ConfigError(`invalid configuration (${where}); fix ${file}, the STACKLET_* environment or the flag`);
  }
  return merged;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The base URL clients use, e.g. http://127.0.0.1:8780 */
export function publicBaseUrl(cfg: Config): string {
  let host = cfg.publicHost ?? cfg.listenHost;
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  if (host.includes(':')) host = `[${host}]`;
  return `http://${host}:${cfg.listenPort}`;
}
