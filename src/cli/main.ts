#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, publicBaseUrl, type Config } from '../config/config.js';
import { cloudsYaml, openrc } from '../daemon/clouds.js';
import { dataFiles, type RunState } from '../daemon/files.js';
import { readSecrets } from '../daemon/secrets.js';
import { checkDataDir, StartupError } from '../daemon/datadir.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../daemon/runtime.js';
import { VERSION } from '../version.js';
import { daemonFlags } from './args.js';
import { ApiError, CloudClient } from './client.js';
import { EXPLAIN_USAGE, fetchExplanation, parseExplainArgs, renderExplanation, UsageError } from './explain.js';

const USAGE = `stacklet ${VERSION} — a private cloud on one machine

Usage:
  stacklet up [--data-dir DIR] [--listen HOST:PORT] [--sandbox NETNS] [--detach]
  stacklet down [--data-dir DIR]
  stacklet status [--data-dir DIR]
  stacklet clouds-yaml [--data-dir DIR]
  stacklet openrc [admin|demo] [--data-dir DIR]
  ${EXPLAIN_USAGE}
  stacklet version

Defaults: data dir /var/lib/stacklet, listen 127.0.0.1:8780.
Environment: STACKLET_DATA_DIR, STACKLET_LISTEN, STACKLET_LOG_LEVEL, STACKLET_TOKEN_TTL, ...`;

class CliError extends Error {
  override name = 'CliError';
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

function readState(cfg: Config): RunState | undefined {
  const f = dataFiles(cfg.dataDir).state;
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runningPid(cfg: Config): number | undefined {
  const f = dataFiles(cfg.dataDir).pid;
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

async function health(baseUrl: string, timeoutMs = 1000): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function summary(cfg: Config, baseUrl: string): string {
  const files = dataFiles(cfg.dataDir);
  return [
    `Stacklet is up.`,
    `  API:         ${baseUrl}  (identity at ${baseUrl}/identity)`,
    `  clouds.yaml: ${files.cloudsYaml}`,
    `  use it:      export OS_CLIENT_CONFIG_FILE=${files.cloudsYaml} OS_CLOUD=stacklet   # or stacklet-admin`,
    `  log:         ${files.log}`,
  ].join('\n');
}

async function up(argv: string[]): Promise<void> {
  const { overrides, detach } = daemonFlags(argv);
  const cfg = loadConfig(overrides);
  const files = dataFiles(cfg.dataDir);
  const existing = existsSync(files.pid) ? runningPid(cfg) : undefined;
  if (existing !== undefined) {
    throw new CliError(`Stacklet already runs for ${cfg.dataDir} (pid ${existing}); \`stacklet down --data-dir ${cfg.dataDir}\` stops it`);
  }
  if (detach) return upDetached(argv, cfg);

  checkDataDir(cfg.dataDir);
  // The daemon (every service, the store, the data plane) loads only here: the other commands start in a fifth of the time.
  const { startCloud } = await import('../daemon/cloud.js');
  claimPidFile(cfg);
  let cloud;
  try {
    cloud = await startCloud(cfg, { progress: (l) => out(l) });
  } catch (err) {
    rmSync(files.pid, { force: true });
    throw err;
  }
  out(summary(cfg, cloud.ctx.baseUrl));
  if (process.env['STACKLET_DETACHED'] === '1') {
    // The parent that waits for us stops reading after this line.
    out('STACKLET-READY');
    process.stdout.on('error', () => {});
  }
  const stop = async (signal: string) => {
    cloud.ctx.log.info({ signal }, 'stopping');
    await cloud.close();
    rmSync(files.pid, { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/**
 * Claims the data dir for this process before the store is opened: the pid
 * file is created exclusively, so two `up`s started at the same moment cannot
 * both run on one store. A pid file left by a process that is gone is taken over.
 */
function claimPidFile(cfg: Config): void {
  const f = dataFiles(cfg.dataDir).pid;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(f, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = runningPid(cfg);
      if (other !== undefined) {
        throw new CliError(`Stacklet already runs for ${cfg.dataDir} (pid ${other}); \`stacklet down --data-dir ${cfg.dataDir}\` stops it`);
      }
      rmSync(f, { force: true });
    }
  }
  throw new CliError(`another Stacklet is starting for ${cfg.dataDir} at this moment; wait for it, then \`stacklet status --data-dir ${cfg.dataDir}\``);
}

async function upDetached(argv: string[], cfg: Config): Promise<void> {
  const files = dataFiles(cfg.dataDir);
  checkDataDir(cfg.dataDir);
  const args = argv.filter((a) => a !== '--detach' && a !== '-d');
  const main = fileURLToPath(import.meta.url);
  const logFd = openSync(files.log.replace(/\.log$/, '.out'), 'a');
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, main, 'up', ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', logFd],
    env: { ...DAEMON_ENV, ...process.env, STACKLET_DETACHED: '1' },
  });
  const ready = await new Promise<boolean>((resolve) => {
    let buf = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'STACKLET-READY') return resolve(true);
        out(line);
      }
    });
    child.once('exit', () => resolve(false));
  });
  if (!ready) {
    const tail = existsSync(files.log.replace(/\.log$/, '.out')) ? readFileSync(files.log.replace(/\.log$/, '.out'), 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    throw new CliError(`Stacklet did not start.${tail ? `\n${tail}` : ''}`);
  }
  child.stdout?.destroy();
  child.unref();
  out(`(running in the background as pid ${child.pid ?? '?'}; \`stacklet down --data-dir ${cfg.dataDir}\` stops it)`);
}

async function down(argv: string[]): Promise<void> {
  const cfg = loadConfig(daemonFlags(argv).overrides);
  const pid = runningPid(cfg);
  if (pid === undefined) {
    out(`Stacklet is not running for ${cfg.dataDir}.`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    process.kill(pid, 'SIGKILL');
    out(`Stacklet (pid ${pid}) did not stop within 15 s; killed it.`);
  } else {
    out(`Stacklet (pid ${pid}) stopped.`);
  }
  rmSync(dataFiles(cfg.dataDir).pid, { force: true });
}

async function status(argv: string[]): Promise<void> {
  const cfg = loadConfig(daemonFlags(argv).overrides);
  const pid = runningPid(cfg);
  const state = readState(cfg);
  out(`stacklet ${VERSION}, data dir ${cfg.dataDir}`);
  if (pid === undefined || !state) {
    out('  daemon:   not running (start it with `stacklet up`)');
    process.exitCode = 3;
    return;
  }
  const h = await health(state.baseUrl);
  out(`  daemon:   running, pid ${pid}, since ${state.startedAt}, version ${state.version}`);
  out(`  api:      ${state.baseUrl} ${h ? 'healthy' : 'NOT ANSWERING (see the log)'}`);
  out(`  sandbox:  ${state.sandbox ?? 'none (data plane in the host namespaces)'}`);
  const dp = h?.['data_plane'] as
    | { enabled: boolean; accelerator?: { accel: string; reason: string }; not_converged?: { key: string; message: string }[] }
    | undefined;
  if (dp) {
    out(`  data plane: ${dp.enabled ? 'on' : 'off (--no-data-plane)'}`);
    if (dp.accelerator) out(`  guests:   ${dp.accelerator.accel.toUpperCase()} (${dp.accelerator.reason})`);
    for (const w of dp.not_converged ?? []) out(`  not converged: ${w.key}: ${w.message}`);
  }
  const services = (h?.['services'] as { type: string; url: string }[] | undefined) ?? [];
  for (const s of services) out(`  ${s.type.padEnd(9)} ${s.url}`);
  if (!h) process.exitCode = 1;
}

function secretsOr(cfg: Config) {
  const secrets = readSecrets(dataFiles(cfg.dataDir).secrets);
  if (!secrets) throw new CliError(`No cloud in ${cfg.dataDir} yet: run \`stacklet up --data-dir ${cfg.dataDir}\` first.`);
  return secrets;
}

async function cloudsYamlCmd(argv: string[]): Promise<void> {
  const cfg = loadConfig(daemonFlags(argv).overrides);
  const baseUrl = readState(cfg)?.baseUrl ?? publicBaseUrl(cfg);
  const text = cloudsYaml({ baseUrl, region: cfg.region, secrets: secretsOr(cfg) });
  writeFileSync(dataFiles(cfg.dataDir).cloudsYaml, text, { mode: 0o600 });
  out(text);
}

async function openrcCmd(argv: string[]): Promise<void> {
  const { overrides, rest } = daemonFlags(argv);
  const who = rest[0] ?? 'demo';
  if (who !== 'admin' && who !== 'demo') throw new CliError(`openrc takes admin or demo, not "${who}"`);
  const cfg = loadConfig(overrides);
  const baseUrl = readState(cfg)?.baseUrl ?? publicBaseUrl(cfg);
  process.stdout.write(openrc({ baseUrl, region: cfg.region, secrets: secretsOr(cfg) }, who));
}

/**
 * `stacklet explain`: logs in like any client with the cloud's clouds.yaml
 * and asks GET /stacklet/v1/explain. Exit status 0 when reachable, 1 when
 * something blocks, 2 when the question could not be asked or answered.
 */
async function explainCmd(argv: string[]): Promise<void> {
  const args = parseExplainArgs(argv);
  const cfg = loadConfig(args.dataDir === undefined ? {} : { dataDir: args.dataDir });
  // Loaded here, not with the CLI: its YAML parser costs the daemon ~9 MB of resident memory it never uses.
  const { readCloudCredentials, CloudsFileError } = await import('./clouds-file.js');
  try {
    const client = await CloudClient.login(readCloudCredentials(dataFiles(cfg.dataDir).cloudsYaml, args.cloud));
    const { target, source, explanation } = await fetchExplanation(client, args);
    process.stdout.write(args.json ? `${JSON.stringify({ server: target, from: source, ...explanation }, null, 2)}\n` : renderExplanation(explanation, target, source, args.probe));
    process.exitCode = explanation.reachable ? 0 : 1;
  } catch (err) {
    if (err instanceof ApiError || err instanceof CloudsFileError || err instanceof UsageError) throw new CliError(err.message);
    // Exit status 1 means "blocked" here: anything unexpected is a 2 like any failed question.
    throw new CliError(`unexpected error: ${(err as Error).stack ?? String(err)}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'status':
      return status(rest);
    case 'clouds-yaml':
      return cloudsYamlCmd(rest);
    case 'openrc':
      return openrcCmd(rest);
    case 'explain':
      return explainCmd(rest);
    case 'version':
    case '--version':
      out(VERSION);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return;
    default:
      throw new CliError(`unknown command "${cmd}"; \`stacklet help\` lists them`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError || err instanceof UsageError || err instanceof ConfigError || err instanceof StartupError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`stacklet: ${(err as Error).message}\n`);
    process.exit(2);
  }
  process.stderr.write(`stacklet: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
