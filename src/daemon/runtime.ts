/**
 * How the daemon's node process is best started: what keeps an idle cloud
 * small. Both only take effect at process start, so whoever launches the
 * daemon applies them (`stacklet up --detach` does; bin/stacklet should).
 *
 * - A 1 MiB young-generation semi-space instead of V8's 16 MiB: an API
 *   request allocates a few tens of kilobytes, so scavenges stay cheap, and
 *   the idle heap is ~20 MB smaller.
 * - glibc: every password check runs scrypt (N=2^14, r=8: 16 MiB) on a libuv
 *   thread, and glibc's per-thread arenas and growing mmap threshold keep
 *   those 16 MiB per thread resident afterwards. A fixed mmap threshold
 *   gives big blocks back on free; two arenas bound the rest.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

export const DAEMON_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(1024 * 1024),
};
