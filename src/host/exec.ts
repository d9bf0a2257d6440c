import { spawn } from 'node:child_process';

/**
 * The one way Stacklet runs host commands: an argv array (never a shell),
 * a timeout, optional stdin (`nft -f -`), optionally inside a network
 * namespace, with typed errors and a log hook.
 */

/** A host command that exited non-zero, was killed by its timeout, or could not start. */
export class HostCommandError extends Error {
  override name = 'HostCommandError';
  constructor(
    /** The program that ran (after the namespace wrapper, if any). */
    readonly command: string,
    readonly args: readonly string[],
    /** null when the command did not exit normally (timeout, signal, spawn failure). */
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly netns: string | null,
    readonly timedOut: boolean,
    cause?: unknown,
  ) {
    const tail = stderr.trim().split('\n').slice(-6).join('\n');
    const where = netns ? ` in netns ${netns}` : '';
    const how = timedOut ? ' (timed out)' : exitCode === null ? '' : ` (exit ${exitCode})`;
    super(`${[command, ...args].join(' ')}${where} failed${how}${tail ? `: ${tail}` : ''}`, cause === undefined ? undefined : { cause });
  }
}

export interface ExecOptions {
  /** Run inside this named network namespace (one under /run/netns). */
  netns?: string | null;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Marks a command that only reads state, so logs and tests can count the ones that change something. */
  readOnly?: boolean;
  /** Exit codes that count as success (default only 0). */
  okExitCodes?: readonly number[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** What the log hook hears about every command. */
export interface ExecEvent {
  argv: readonly string[];
  netns: string | null;
  readOnly: boolean;
  exitCode: number | null;
  ms: number;
  stdin?: string;
}

export type ExecHook = (event: ExecEvent) => void;

/** Runs host commands; one instance per driver so tests can hook and count. */
export interface HostExec {
  run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

const IP_CMD = '/usr/sbin/ip';

/** argv that runs `argv` inside a named network namespace, without a shell. */
export function inNetns(netns: string | null | undefined, argv: readonly string[]): string[] {
  if (!netns) return [...argv];
  assertNetnsName(netns);
  return [IP_CMD, 'netns', 'exec', netns, ...argv];
}

/** The real runner: child_process.spawn with an argv, never a shell. */
export class SpawnExec implements HostExec {
  private readonly hooks: ExecHook[] = [];

  constructor(hook?: ExecHook) {
    if (hook) this.hooks.push(hook);
  }

  /** Adds a listener for every command run (logging, counting in tests). */
  onCommand(hook: ExecHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const full = inNetns(opts.netns, argv);
    const [file, ...args] = full;
    if (file === undefined || argv.length === 0) return Promise.reject(new Error('exec: empty argv'));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const ok = opts.okExitCodes ?? [0];
    const started = performance.now();
    const netns = opts.netns ?? null;
    const [cmd = '', ...cmdArgs] = argv;
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      let settled = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const finish = (code: number | null, spawnError?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        const event: ExecEvent = { argv: full, netns, readOnly: opts.readOnly ?? false, exitCode: code, ms: performance.now() - started };
        if (opts.stdin !== undefined) event.stdin = opts.stdin;
        for (const h of this.hooks) h(event);
        if (code !== null && ok.includes(code) && !spawnError) {
          resolve({ stdout, stderr, exitCode: code });
        } else {
          reject(new HostCommandError(cmd, cmdArgs, code, stderr || (spawnError instanceof Error ? spawnError.message : ''), netns, timedOut, spawnError));
        }
      };
      child.on('error', (e) => finish(null, e));
      child.on('close', (code) => finish(code));
      child.stdin.on('error', () => {
        // A command that exits before reading stdin closes the pipe; its exit code tells the story.
      });
      child.stdin.end(opts.stdin ?? '');
    });
  }
}

/** Linux interface names: at most 15 bytes; we only ever make [a-z0-9-]. */
export function isIfName(name: string): boolean {
  return /^[a-z0-9][a-z0-9-]{0,14}$/.test(name);
}

/** Throws unless `name` is an interface name we may create or touch. */
export function assertIfName(name: string): string {
  if (!isIfName(name)) throw new Error(`invalid interface name "${name}" (1-15 of [a-z0-9-], starting with a letter or digit)`);
  return name;
}

/** Network namespace names: a file under /run/netns, so no slashes, dots-only names or option-like names. */
export function isNetnsName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name) && name !== '.' && name !== '..';
}

/** Throws unless `name` is a namespace name we may use. */
export function assertNetnsName(name: string): string {
  if (!isNetnsName(name)) throw new Error(`invalid network namespace name "${name}"`);
  return name;
}

/** True when the error says the thing was not there (for "already gone" is success). */
export function isNotFound(err: unknown): boolean {
  if (!(err instanceof HostCommandError)) return false;
  return /(No such file or directory|Cannot find device|does not exist|No such device|No such process|not found|Cannot find)/i.test(err.stderr);
}

/** True when the error says the thing is already there. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof HostCommandError && /File exists|already exists/i.test(err.stderr);
}
