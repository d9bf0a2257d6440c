import { parseArgs } from 'node:util';
import { ConfigError, parseListen, type ConfigOverrides } from '../config/config.js';

/** Flags shared by the daemon commands. */
export function daemonFlags(argv: string[]): { overrides: ConfigOverrides; detach: boolean; rest: string[] } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'data-dir': { type: 'string' },
      listen: { type: 'string' },
      sandbox: { type: 'string' },
      detach: { type: 'boolean', short: 'd' },
      'log-level': { type: 'string' },
      'host-prefix': { type: 'string' },
      'no-data-plane': { type: 'boolean' },
      'no-seed': { type: 'boolean' },
    },
  });
  const overrides: ConfigOverrides = {};
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  if (values.listen !== undefined) Object.assign(overrides, parseListen(values.listen));
  if (values.sandbox !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(values.sandbox)) {
      throw new ConfigError(`--sandbox wants a network namespace name (letters, digits, _ . -), got "${values.sandbox}"`);
    }
    overrides.sandbox = values.sandbox;
  }
  if (values['log-level'] !== undefined) overrides.logLevel = values['log-level'] as ConfigOverrides['logLevel'];
  if (values['host-prefix'] !== undefined) overrides.hostPrefix = values['host-prefix'];
  if (values['no-data-plane']) overrides.dataPlane = false;
  if (values['no-seed']) overrides.seed = false;
  return { overrides, detach: values.detach === true, rest: positionals };
}
