import { stat } from 'node:fs/promises';
import { assertNetnsName, isAlreadyExists, isNotFound, type ExecOptions, type ExecResult, type HostExec } from '../../exec.js';

/**
 * Named network namespaces (`ip netns`): ensure, remove, list, run in, and
 * sysctls inside them.
 */

const IP = '/usr/sbin/ip';
const SYSCTL = '/usr/sbin/sysctl';

/** Where iproute2 keeps its namespace handles. */
export const NETNS_DIR = '/run/netns';

export class Netns {
  /**
   * What was verified in which namespace (name → identity, and sysctls per
   * name and identity): a namespace made again has a new identity, so a
   * wipe is always seen; drift inside a namespace we keep (loopback down,
   * a sysctl changed) is seen after forget(), which the periodic resync calls.
   */
  private readonly verified = new Map<string, string>();
  private readonly sysctlsVerified = new Map<string, string>();
  /** Namespaces made by ensure() and not yet taken by takeFresh() (name → identity). */
  private readonly created = new Map<string, string>();

  constructor(private readonly exec: HostExec) {}

  /** Forgets what was verified, so the next ensures read the namespaces again. */
  forget(): void {
    this.verified.clear();
    this.sysctlsVerified.clear();
    this.created.clear();
  }

  /** Names of every named namespace on the machine. */
  async list(): Promise<string[]> {
    const { stdout } = await this.exec.run([IP, '-j', 'netns', 'list'], { readOnly: true });
    const text = stdout.trim();
    if (text === '') return [];
    return (JSON.parse(text) as { name: string }[]).map((n) => n.name);
  }

  async exists(name: string): Promise<boolean> {
    assertNetnsName(name);
    return (await this.identity(name)) !== null;
  }

  /**
   * The kernel identity (dev:inode) of the namespace behind the name, or
   * null. A namespace deleted and made again has a new one, which is how a
   * process or socket left in the old one is found out.
   */
  async identity(name: string): Promise<string | null> {
    assertNetnsName(name);
    try {
      const s = await stat(`${NETNS_DIR}/${name}`);
      return `${s.dev}:${s.ino}`;
    } catch {
      return null;
    }
  }

  /** Makes the namespace with loopback up; true when it had to. */
  async ensure(name: string): Promise<boolean> {
    assertNetnsName(name);
    const known = await this.identity(name);
    if (known !== null && this.verified.get(name) === known) return false;
    let made = false;
    if (known === null) {
      try {
        await this.exec.run([IP, 'netns', 'add', name]);
        made = true;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    let changed = made;
    // A namespace just made has loopback down: set it up without looking.
    const lo = made ? undefined : (JSON.parse((await this.exec.run([IP, '-n', name, '-j', 'link', 'show', 'dev', 'lo'], { readOnly: true })).stdout) as { flags: string[] }[])[0];
    if (made || !lo?.flags.includes('UP')) {
      await this.exec.run([IP, '-n', name, 'link', 'set', 'dev', 'lo', 'up']);
      changed = true;
    }
    const id = await this.identity(name);
    if (id !== null) this.verified.set(name, id);
    if (made && id !== null) this.created.set(name, id);
    return changed;
  }

  /**
   * Whether ensure() has just made this namespace, once: the converge that
   * made it knows it holds nothing but loopback and kernel defaults, so it
   * can skip reading them back (each read is an ~10 ms process). The
   * identity check catches a namespace deleted and made again by someone else.
   */
  async takeFresh(name: string): Promise<boolean> {
    const made = this.created.get(name);
    this.created.delete(name);
    return made !== undefined && made === (await this.identity(name));
  }

  /** Deletes the namespace (and with it every link inside); true when it was there. */
  async remove(name: string): Promise<boolean> {
    assertNetnsName(name);
    this.verified.delete(name);
    this.sysctlsVerified.delete(name);
    this.created.delete(name);
    if (!(await this.exists(name))) return false;
    try {
      await this.exec.run([IP, 'netns', 'del', name]);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Runs argv inside the namespace. */
  run(name: string, argv: readonly string[], opts: Omit<ExecOptions, 'netns'> = {}): Promise<ExecResult> {
    return this.exec.run(argv, { ...opts, netns: assertNetnsName(name) });
  }

  /**
   * Makes sysctls inside a namespace (or the current one when null) hold
   * the given values: one read of them all, one write of those that differ.
   * /proc/sys/net shows the namespace of the reading process, hence
   * running sysctl inside it.
   */
  async ensureSysctls(netns: string | null, want: Readonly<Record<string, string>>, fresh = false): Promise<boolean> {
    const keys = Object.keys(want);
    for (const k of keys) {
      if (!/^[a-z0-9_.-]+$/.test(k)) throw new Error(`invalid sysctl key "${k}"`);
    }
    if (keys.length === 0) return false;
    const wanted = JSON.stringify(Object.entries(want).sort());
    const identity = netns === null ? null : await this.identity(netns);
    const memo = netns === null ? null : `${netns} ${identity ?? ''} ${wanted}`;
    if (memo !== null && netns !== null && this.sysctlsVerified.get(netns) === memo) return false;
    // In a namespace just made every value is the default: write them all rather than read first.
    const have = fresh ? [] : (await this.exec.run([SYSCTL, '-n', ...keys], { netns, readOnly: true })).stdout.split('\n');
    const set = keys.filter((k, i) => (have[i] ?? '').trim() !== want[k]).map((k) => `${k}=${want[k] ?? ''}`);
    if (set.length > 0) await this.exec.run([SYSCTL, '-q', '-w', ...set], { netns });
    if (memo !== null && netns !== null) this.sysctlsVerified.set(netns, memo);
    return set.length > 0;
  }
}
