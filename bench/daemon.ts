import { spawn, type ChildProcess } from 'node:child_process';

/** A daemon a bench started, and how long it took to answer /healthz. */
export interface BenchDaemon {
  proc: ChildProcess;
  url: string;
  msToHealthy: number;
}

/**
 * Starts `node <args>` (a `stacklet up` on 127.0.0.1:port) and polls its
 * /healthz every pollMs until it answers; its stderr is in the error when
 * it exits first. Benches time the start, so the poll is short.
 */
export async function startDaemon(args: string[], port: number, env: Record<string, string>, pollMs = 20): Promise<BenchDaemon> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`stacklet up exited ${proc.exitCode}: ${err}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { proc, url, msToHealthy: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
