import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, runCommand } from './run-command.js';

/**
 * Debian packages fetched with `apt-get download` into the cache and
 * unpacked with `dpkg-deb -x` into a scratch directory: nothing is ever
 * installed on the host.
 */

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const PACKAGE_VERSION = /^[A-Za-z0-9.+~:-]+$/;

/** The metapackage that follows Debian's current cloud kernel. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

/** Guest userland: busybox, the SSH server, and the libraries dropbear links against. */
export const USERLAND_PACKAGES = [
  'busybox-static',
  'dropbear-bin',
  'libc6',
  'libcrypt1',
  'libtomcrypt1',
  'libtommath1',
  'libgmp10',
  'zlib1g',
] as const;

function checkName(name: string): string {
  if (!PACKAGE_NAME.test(name)) throw new Error(`not a Debian package name: ${JSON.stringify(name)}`);
  return name;
}

function aptEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' };
}

let listsRefreshed = false;

/** apt-get download failed for stale lists; they were refreshed, so resolve versions again. */
export class StaleListsError extends Error {
  constructor(cause: unknown) {
    super('apt lists were stale; refreshed them', { cause });
    this.name = 'StaleListsError';
  }
}

/** `apt-get update`, at most once per process: only when the lists lack what we need. */
async function refreshLists(onProgress: (s: string) => void): Promise<void> {
  if (listsRefreshed) return;
  listsRefreshed = true;
  onProgress('package lists are missing or stale: running apt-get update');
  await runCommand(['apt-get', 'update'], { env: aptEnv(), timeoutMs: 600_000 });
}

/** Finds the versioned kernel package the metapackage depends on, e.g. linux-image-6.1.0-56-cloud-amd64. */
async function resolveKernelPackage(): Promise<string | undefined> {
  const { stdout } = await runCommand(['apt-cache', 'depends', KERNEL_METAPACKAGE], { env: aptEnv() });
  for (const line of stdout.split('\n')) {
    const m = /^\s*Depends:\s*(linux-image-[0-9][^\s]*-cloud-amd64)\s*$/.exec(line);
    if (m?.[1]) return checkName(m[1]);
  }
  return undefined;
}

/** Candidate versions from the local package lists (no network). */
async function candidateVersions(names: readonly string[]): Promise<Map<string, string>> {
  const { stdout } = await runCommand(['apt-cache', 'policy', ...names.map(checkName)], { env: aptEnv() });
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head?.[1]) {
      current = head[1];
      continue;
    }
    const cand = /^\s+Candidate:\s*(\S+)/.exec(line);
    if (cand?.[1] && current && cand[1] !== '(none)' && PACKAGE_VERSION.test(cand[1])) out.set(current, cand[1]);
  }
  return out;
}

/** The exact package set a build uses: kernel first, then the userland. */
export interface ResolvedPackages {
  kernelPackage: string;
  versions: Map<string, string>;
}

/** Resolves the kernel package and every version, refreshing apt lists once if they lack them. */
export async function resolvePackages(onProgress: (s: string) => void): Promise<ResolvedPackages> {
  for (let attempt = 0; ; attempt++) {
    const kernelPackage = await resolveKernelPackage().catch(() => undefined);
    if (kernelPackage) {
      const names = [kernelPackage, ...USERLAND_PACKAGES];
      const versions = await candidateVersions(names);
      const missing = names.filter((n) => !versions.has(n));
      if (missing.length === 0) return { kernelPackage, versions };
      if (attempt > 0 || listsRefreshed) throw new Error(`no installable version of ${missing.join(', ')} in the apt lists`);
    } else if (attempt > 0 || listsRefreshed) {
      throw new Error(`${KERNEL_METAPACKAGE} is not in the apt lists (is the Debian main component configured?)`);
    }
    await refreshLists(onProgress);
  }
}

/** What apt's candidate choice depends on: the package lists and its configuration. */
const APT_STATE_DIRS = ['/var/lib/apt/lists', '/etc/apt', '/etc/apt/sources.list.d', '/etc/apt/preferences.d'];

async function aptStateStamp(): Promise<string> {
  const h = createHash('sha256');
  for (const dir of APT_STATE_DIRS) {
    const names = (await readdir(dir).catch(() => [] as string[])).sort();
    for (const name of names) {
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st?.isFile()) h.update(`${dir}/${name}\0${st.size}\0${st.mtimeMs}\n`);
    }
  }
  return h.digest('hex');
}

/**
 * resolvePackages, remembered in cacheDir until apt's lists or configuration
 * change: apt-cache takes about a second, and a cached build should
 * come back at once.
 */
export async function resolvePackagesCached(cacheDir: string, onProgress: (s: string) => void): Promise<ResolvedPackages> {
  const file = join(cacheDir, 'resolved-packages.json');
  const stamp = await aptStateStamp();
  try {
    const saved: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof saved === 'object' && saved !== null) {
      const o = saved as { stamp?: unknown; kernelPackage?: unknown; versions?: unknown };
      if (o.stamp === stamp && typeof o.kernelPackage === 'string' && Array.isArray(o.versions)) {
        const versions = new Map<string, string>();
        for (const pair of o.versions as unknown[]) {
          if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') versions.set(pair[0], pair[1]);
        }
        const names = [o.kernelPackage, ...USERLAND_PACKAGES];
        if (names.every((n) => versions.has(n)) && versions.size === names.length) {
          return { kernelPackage: checkName(o.kernelPackage), versions };
        }
      }
    }
  } catch {
    // no usable record: resolve below
  }
  const resolved = await resolvePackages(onProgress);
  // apt-get update during resolution changes the lists: stamp what was used.
  const after = await aptStateStamp();
  await writeFile(file, JSON.stringify({ stamp: after, kernelPackage: resolved.kernelPackage, versions: [...resolved.versions] }));
  return resolved;
}

/** apt-get download names files name_version_arch.deb with ':' escaped as %3a. */
function debPrefix(name: string, version: string): string {
  return `${name}_${version.replace(/:/g, '%3a')}_`;
}

async function findDeb(dir: string, name: string, version: string): Promise<string | undefined> {
  const prefix = debPrefix(name, version);
  const files = await readdir(dir).catch(() => [] as string[]);
  const hit = files.find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
  return hit ? join(dir, hit) : undefined;
}

/** Downloads what is not cached yet; returns package name → .deb path. */
export async function downloadPackages(
  debDir: string,
  versions: ReadonlyMap<string, string>,
  onProgress: (s: string) => void,
): Promise<Map<string, string>> {
  await mkdir(debDir, { recursive: true });
  const want: string[] = [];
  for (const [name, version] of versions) {
    if (!(await findDeb(debDir, name, version))) want.push(`${checkName(name)}=${version}`);
  }
  if (want.length > 0) {
    onProgress(`fetching packages: ${want.join(' ')}`);
    // The sandbox user cannot write to an arbitrary cache dir; root downloads are fine here.
    const argv = ['apt-get', '-o', 'APT::Sandbox::User=root', '-q', 'download', ...want];
    try {
      await runCommand(argv, { cwd: debDir, env: aptEnv(), timeoutMs: 900_000 });
    } catch (err) {
      const lacksLists = err instanceof CommandError && /Unable to locate|Can't find a source|Version .* was not found|404\s+Not Found|Failed to fetch/i.test(err.stderr);
      if (!lacksLists || listsRefreshed) throw err;
      // The versions themselves may be gone from the mirror: the caller resolves again.
      await refreshLists(onProgress);
      throw new StaleListsError(err);
    }
  } else {
    onProgress('fetching packages: all cached');
  }
  const out = new Map<string, string>();
  for (const [name, version] of versions) {
    const path = await findDeb(debDir, name, version);
    if (!path) throw new Error(`apt-get download did not produce ${name} ${version} in ${debDir}`);
    out.set(name, path);
  }
  return out;
}

/** Unpacks a .deb's files (not its maintainer scripts) under dest. */
export async function unpackDeb(deb: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await runCommand(['dpkg-deb', '-x', deb, dest], { timeoutMs: 300_000 });
}

/** Removes .deb files in debDir that are not part of the current package set. */
export async function pruneDebs(debDir: string, keep: ReadonlyMap<string, string>): Promise<string[]> {
  const keepFiles = new Set([...keep.values()].map((p) => p.slice(debDir.length + 1)));
  const files = await readdir(debDir).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.deb') && !keepFiles.has(f)).map((f) => join(debDir, f));
}
