import { execFile } from 'node:child_process';

/** A host command that exited non-zero, timed out or could not start. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
    cause: unknown,
  ) {
    const tail = stderr.trim().split('\n').slice(-8).join('\n');
    super(`${argv.join(' ')} failed${exitCode === null ? '' : ` (exit ${exitCode})`}${tail ? `: ${tail}` : ''}`, { cause });
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs argv (never through a shell) and resolves with its stdout. */
export function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runCommand: empty argv'));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          reject(new CommandError(argv, stderr, code, err));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}
