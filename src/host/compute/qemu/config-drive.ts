import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ConfigDriveFiles } from '../driver.js';
import { ComputeError } from '../errors.js';
import { run } from './exec.js';

/**
 * The config drive: an ISO 9660 image labelled config-2 (with Rock Ridge
 * and Joliet, so long lower-case names survive), which cloud-init and the
 * tiny guest find by its label. Built with genisoimage (Debian's
 * `genisoimage` package), as Nova does.
 */

/** Volume label guests look for. */
export const CONFIG_DRIVE_LABEL = 'config-2';

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Throws InvalidSpec unless rel is a relative path of plain segments (no `..`, no absolute path). */
export function checkConfigDrivePath(rel: string): void {
  const parts = rel.split('/');
  if (parts.length > 8 || !parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..')) {
    throw new ComputeError('InvalidSpec', `config drive path ${JSON.stringify(rel)} must be a relative path of plain names`);
  }
}

/**
 * Writes files into a fresh ISO at out (atomically: a reader sees the old
 * image or the whole new one). workDir must be on the same filesystem as out.
 */
export async function buildConfigDrive(files: ConfigDriveFiles, out: string, workDir: string, publisher = 'Stacklet'): Promise<void> {
  const entries = Object.entries(files);
  for (const [rel] of entries) checkConfigDrivePath(rel);
  const tmp = await mkdtemp(join(workDir, '.config-drive-'));
  try {
    const root = join(tmp, 'root');
    await mkdir(root);
    for (const [rel, content] of entries) {
      const p = join(root, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, content, { mode: 0o644 });
    }
    const iso = join(tmp, 'drive.iso');
    await run(
      [
        'genisoimage',
        '-o',
        iso,
        '-quiet',
        '-V',
        CONFIG_DRIVE_LABEL,
        '-publisher',
        publisher,
        // Rock Ridge + Joliet for real names; the relaxations keep ISO level-1 names close to them too.
        '-r',
        '-J',
        '-l',
        '-ldots',
        '-allow-lowercase',
        '-allow-multidot',
        root,
      ],
      { timeoutMs: 60_000 },
    );
    await rename(iso, out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
