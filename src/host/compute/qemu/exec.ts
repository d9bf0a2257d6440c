import { execFile } from 'node:child_process';
import { ComputeError } from '../errors.js';

/** Options for {@link run}. */
export interface RunOptions {
  timeoutMs?: number;
  /** Bytes written to the command's stdin. */
  input?: string | Uint8Array;
}

/**
 * Runs argv (never through a shell) and resolves with its stdout. A
 * non-zero exit, a timeout or a missing binary becomes a HostFailure that
 * carries the command and the tail of its stderr.
 */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ stdout, stderr });
          return;
        }
        const tail = stderr.trim().split('\n').slice(-6).join('\n');
        const why = err.killed ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : typeof err.code === 'number' ? `exit ${err.code}` : String(err.code ?? err.message);
        reject(new ComputeError('HostFailure', `${argv.join(' ')} failed (${why})${tail ? `: ${tail}` : ''}`, { cause: err }));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
