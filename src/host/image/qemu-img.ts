import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The one place that runs qemu-img. Image data is untrusted: qemu-img is
 * run as an argv array (never a shell), with a timeout and a small output
 * cap, and without `-f`, so that it probes the real format from the bytes
 * instead of believing what the uploader declared.
 */

/** What `qemu-img info --output=json` says about a file (the fields we use). */
export interface QemuImgInfo {
  /** The probed format: raw, qcow2, vmdk, vpc, vhdx, vdi, parallels, ... */
  format: string;
  virtualSize: number;
  actualSize: number | undefined;
  backingFilename: string | undefined;
  /** qcow2's external data file (`format-specific.data.data-file`). */
  dataFile: string | undefined;
  /** vmdk's create type (monolithicSparse, streamOptimized, monolithicFlat, ...). */
  vmdkCreateType: string | undefined;
  /** Extent file names a vmdk descriptor refers to. */
  vmdkExtents: string[];
  /** qcow2's corrupt flag. */
  corrupt: boolean;
  /** The whole parsed document, for logs. */
  raw: Record<string, unknown>;
}

export type QemuImgErrorKind = 'missing' | 'timeout' | 'failed' | 'bad-output';

/** qemu-img could not start, timed out, refused the file or printed something we cannot read. */
export class QemuImgError extends Error {
  constructor(
    readonly kind: QemuImgErrorKind,
    message: string,
    readonly stderr = '',
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'QemuImgError';
  }
}

export interface QemuImgOptions {
  /** Defaults to 30 s: inspecting reads headers only, so a slow answer means something is wrong. */
  timeoutMs?: number;
  /** The binary; tests may point it elsewhere. */
  binary?: string;
}

const MAX_OUTPUT = 4 * 1024 * 1024;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Turns qemu-img's JSON into QemuImgInfo; throws QemuImgError('bad-output') when it is not what qemu-img prints. */
export function parseQemuImgInfo(stdout: string): QemuImgInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (err) {
    throw new QemuImgError('bad-output', 'qemu-img printed something that is not JSON', '', err);
  }
  const d = obj(doc);
  const format = str(d?.['format']);
  const vsize = d?.['virtual-size'];
  if (!d || !format || typeof vsize !== 'number') {
    throw new QemuImgError('bad-output', 'qemu-img info printed no format or virtual size');
  }
  const specific = obj(d['format-specific']);
  const data = obj(specific?.['data']);
  const extents = Array.isArray(data?.['extents']) ? (data['extents'] as unknown[]) : [];
  return {
    format,
    virtualSize: vsize,
    actualSize: typeof d['actual-size'] === 'number' ? d['actual-size'] : undefined,
    backingFilename: str(d['backing-filename']) ?? str(d['full-backing-filename']),
    dataFile: str(data?.['data-file']),
    vmdkCreateType: specific?.['type'] === 'vmdk' ? str(data?.['create-type']) : undefined,
    vmdkExtents: extents.map((e) => str(obj(e)?.['filename'])).filter((f): f is string => f !== undefined),
    corrupt: data?.['corrupt'] === true,
    raw: d,
  };
}

/** Runs `qemu-img info --output=json <path>` (format probed, backing chain not opened). */
export function qemuImgInfo(path: string, opts: QemuImgOptions = {}): Promise<QemuImgInfo> {
  const binary = opts.binary ?? 'qemu-img';
  // Absolute, so that qemu-img reads neither an option ("-x") nor a protocol ("nbd:...", "json:{...}") from it.
  const target = resolve(path);
  const argv = ['info', '--output=json', target];
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      argv,
      { timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
          if (e.code === 'ENOENT') {
            reject(new QemuImgError('missing', `${binary} is not installed (Debian package qemu-utils)`, '', err));
          } else if (e.killed || e.signal === 'SIGKILL') {
            reject(new QemuImgError('timeout', `qemu-img info did not answer within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s`, stderr, err));
          } else {
            const why = stderr.trim().split('\n').pop()?.replace(/^qemu-img:\s*/, '') ?? '';
            reject(new QemuImgError('failed', why || 'qemu-img info failed', stderr, err));
          }
          return;
        }
        try {
          resolve(parseQemuImgInfo(stdout));
        } catch (parseErr) {
          reject(parseErr);
        }
      },
    );
  });
}
