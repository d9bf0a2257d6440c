import { readFile } from 'node:fs/promises';
import { ComputeError } from '../errors.js';
import { run } from './exec.js';

/**
 * QEMU processes. QEMU daemonizes itself (-daemonize): the command we run
 * returns once the VM is set up, and the VM lives on in its own session,
 * reparented away from Stacklet, so stopping or killing Stacklet never
 * takes an instance with it. A VM is found again by its pid file, and the
 * pid is trusted only when /proc/PID/cmdline is QEMU's with this
 * instance's uuid and pid file (pids get reused).
 */

/**
 * Starts QEMU with argv ending in `-pidfile X -daemonize`; resolves with the
 * daemon's pid. `command` is the binary, possibly behind a launcher that
 * execs it (`ip netns exec NS qemu-system-x86_64`).
 */
export async function startDaemonized(command: readonly string[], argv: readonly string[], pidFile: string, uuid: string, timeoutMs = 30_000): Promise<number> {
  if (!argv.includes('-daemonize')) throw new Error('startDaemonized: argv must ask QEMU to daemonize');
  // The foreground QEMU exits once the daemon has finished initialising (or failed to, with its error on stderr).
  await run([...command, ...argv], { timeoutMs });
  const pid = await findQemuPid(pidFile, uuid);
  if (pid === undefined) throw new ComputeError('HostFailure', `QEMU started but its pid file ${pidFile} names no live QEMU`);
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
