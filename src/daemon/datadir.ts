import { accessSync, constants, mkdirSync } from 'node:fs';

/**
 * What start-up needs before anything heavy is loaded: its error type and
 * the data-dir check, so `stacklet up --detach` can check the dir in the
 * parent without loading the whole cloud.
 */

/** A start-up failure the person can fix; the CLI prints its message and exits 2. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** Makes the data dir if needed and checks it is writable; a StartupError says what to do otherwise. */
export function checkDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = process.getuid?.() === 0 ? 'check the path and its parents' : 'run as root, or pass --data-dir to a directory you own';
    throw new StartupError(`data dir ${dir} is not writable (${code ?? 'error'}): ${hint}`);
  }
}
