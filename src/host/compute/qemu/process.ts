import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ComputeError } from '../errors.js';
import { QmpError, withQmp } from './qmp.js';

/**
 * QEMU processes. Each QEMU is spawned detached: in a session of its own
 * (setsid), stdin from /dev/null, stdout and stderr to a log in the
 * instance dir, and not waited for, so stopping or killing Stacklet never
 * takes an instance with it. (QEMU's own -daemonize would fork, which its
 * seccomp sandbox forbids, and would throw its stderr away.) A VM is found
 * again by its pid file, and the pid is trusted only when
 * /proc/PID/cmdline is QEMU's with this instance's uuid and pid file
 * (pids get reused).
 */

/** Where and how to start one QEMU. */
export interface StartOptions {
  /** The binary, possibly behind a launcher that execs it (`ip netns exec NS qemu-system-x86_64`). */
  command: readonly string[];
  argv: readonly string[];
  pidFile: string;
  uuid: string;
  qmpSocket: string;
  /** QEMU's stdout and stderr go here (appended). */
  logFile: string;
  timeoutMs?: number;
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-6).join('\n');
}

/**
 * Starts QEMU detached and resolves with its pid once it answers on QMP
 * (its start-up is over); rejects with QEMU's own error when it exits first.
 */
export async function startDetached(o: StartOptions): Promise<number> {
  const [file, ...pre] = o.command;
  if (file === undefined) throw new Error('startDetached: empty command');
  const timeoutMs = o.timeoutMs ?? 30_000;
  const fd = openSync(o.logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(file, [...pre, ...o.argv], { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exit ${String(code)}`));
  child.once('error', (err) => (exited = err.message));
  child.unref();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      const tail = await logTail(o.logFile);
      throw new ComputeError('HostFailure', `QEMU failed to start (${exited})${tail ? `: ${tail}` : ''}`);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      if (child.pid !== undefined) await killHard(child.pid).catch(() => undefined);
      throw new ComputeError('HostFailure', `QEMU did not answer on ${o.qmpSocket} within ${timeoutMs} ms`);
    }
    try {
      await withQmp(o.qmpSocket, (q) => q.execute('query-status'), { timeoutMs: remaining });
      break;
    } catch (err) {
      if (!(err instanceof QmpError) || err.kind === 'Timeout') continue;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const pid = await findQemuPid(o.pidFile, o.uuid);
  if (pid === undefined || pid !== child.pid) {
    throw new ComputeError('HostFailure', `QEMU started but its pid file ${o.pidFile} does not name it (${String(pid)} vs ${String(child.pid)})`);
  }
  return pid;
}

/** The pid in a pid file, or undefined when there is none or it is not a number. */
export async function readPidFile(pidFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** The argv of a live, non-zombie process, or undefined. */
export async function processArgv(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself hold spaces or parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, all) => i < all.length - 1 || s !== '');
  } catch {
    return undefined;
  }
}

/** True when argv is a QEMU started for this uuid with this pid file. */
export function isOurQemu(argv: readonly string[], pidFile: string, uuid: string): boolean {
  const bin = argv[0] ?? '';
  if (!/qemu-system-/.test(bin)) return false;
  const after = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return after('-uuid') === uuid && after('-pidfile') === pidFile;
}

/** The pid of the live QEMU this pid file belongs to, or undefined (no file, stale file, or a reused pid). */
export async function findQemuPid(pidFile: string, uuid: string): Promise<number | undefined> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined) return undefined;
  const argv = await processArgv(pid);
  return argv && isOurQemu(argv, pidFile, uuid) ? pid : undefined;
}

/** True while pid is a live (non-zombie) process. */
export async function isAlive(pid: number): Promise<boolean> {
  return (await processArgv(pid)) !== undefined;
}

/** Resolves true once pid has exited, false if it still runs after timeoutMs. */
export async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGKILLs pid and waits for it to be gone. */
export async function killHard(pid: number, timeoutMs = 10_000): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw new ComputeError('HostFailure', `cannot kill QEMU pid ${pid}: ${(err as Error).message}`, { cause: err });
  }
  if (!(await waitExit(pid, timeoutMs))) throw new ComputeError('HostFailure', `QEMU pid ${pid} still runs ${timeoutMs} ms after SIGKILL`);
}
