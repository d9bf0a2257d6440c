import { join } from 'node:path';
import { ComputeError } from '../errors.js';

/**
 * Where one instance lives on the host: a directory `<prefix>-<uuid>` in
 * the instances dir holding everything QEMU reads and writes for it. The
 * prefix is the cloud's host prefix, so two clouds sharing a dir, or a
 * stray directory, are never taken for ours.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PREFIX = /^[a-z][a-z0-9]{0,4}$/;

/** Linux's sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

/** Paths of one instance's files. */
export interface InstancePaths {
  dir: string;
  /** Written by QEMU (-pidfile), removed by QEMU when it exits cleanly. */
  pidFile: string;
  /** QMP monitor (commands). */
  qmpSocket: string;
  /** VNC server, for the console proxy. */
  vncSocket: string;
  /** Interactive serial console (the log gets the same bytes). */
  serialSocket: string;
  /** Serial console log, appended across restarts. */
  consoleLog: string;
  /** The previous console log, kept once when the log is rotated at start. */
  consoleLogOld: string;
  /** qcow2 overlay on the image: the instance's root disk. */
  overlay: string;
  configDrive: string;
  /** Saved memory and device state of a suspended instance. */
  savedState: string;
  /** Unix socket a migration stream passes through while suspending or resuming. */
  migrateSocket: string;
  /** QEMU's own stdout and stderr (start-up errors, runtime warnings). */
  qemuLog: string;
  /** What the instance was started with (machine, accel, NICs): read back by status() and list(). */
  runtimeFile: string;
}

/** True for a lower-case dashed uuid, the only instance id the driver accepts. */
export function isInstanceId(id: string): boolean {
  return UUID.test(id);
}

/** Throws InvalidSpec unless id is a lower-case dashed uuid. */
export function checkInstanceId(id: string): void {
  if (!isInstanceId(id)) throw new ComputeError('InvalidSpec', `instance id ${JSON.stringify(id)} is not a lower-case uuid`);
}

/** Directory name of an instance: `<prefix>-<uuid>`. */
export function instanceDirName(prefix: string, id: string): string {
  if (!PREFIX.test(prefix)) throw new ComputeError('InvalidSpec', `host prefix ${JSON.stringify(prefix)} must be 1-5 lower-case letters/digits starting with a letter`);
  checkInstanceId(id);
  return `${prefix}-${id}`;
}

/** The id of an instance dir name of ours, or undefined for anything else. */
export function idFromDirName(prefix: string, name: string): string | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const id = name.slice(prefix.length + 1);
  return isInstanceId(id) ? id : undefined;
}

/** All paths of one instance. Throws InvalidSpec when a socket path would not fit in sun_path. */
export function instancePaths(instancesDir: string, prefix: string, id: string): InstancePaths {
  const dir = join(instancesDir, instanceDirName(prefix, id));
  const paths: InstancePaths = {
    dir,
    pidFile: join(dir, 'qemu.pid'),
    qmpSocket: join(dir, 'qmp.sock'),
    vncSocket: join(dir, 'vnc.sock'),
    serialSocket: join(dir, 'serial.sock'),
    consoleLog: join(dir, 'console.log'),
    consoleLogOld: join(dir, 'console.log.0'),
    overlay: join(dir, 'disk.qcow2'),
    configDrive: join(dir, 'config-drive.iso'),
    savedState: join(dir, 'suspended.state'),
    migrateSocket: join(dir, 'migrate.sock'),
    runtimeFile: join(dir, 'runtime.json'),
    qemuLog: join(dir, 'qemu.log'),
  };
  for (const sock of [paths.qmpSocket, paths.vncSocket, paths.serialSocket, paths.migrateSocket]) {
    if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
      throw new ComputeError(
        'InvalidSpec',
        `socket path ${sock} is longer than the ${MAX_SOCKET_PATH} bytes a unix socket allows; use a shorter data dir`,
      );
    }
  }
  return paths;
}
