/**
 * How the daemon's node process is best started: what keeps an idle cloud
 * small. Both only take effect at process start, so whoever launches the
 * daemon applies them (`stacklet up --detach` does; bin/stacklet should).
 *
 * - A 2 MiB young-generation semi-space instead of V8's 16 MiB: the idle
 *   heap is ~25 MB smaller. (1 MiB saved 6 MB more but, with 32 requests in
 *   flight, promoted their short-lived objects and doubled the CPU per
 *   request; 2 MiB measured as fast as the default.)
 * - glibc: every password check runs scrypt (N=2^14, r=8: 16 MiB) on a libuv
 *   thread, and glibc's per-thread arenas and growing mmap threshold keep
 *   those 16 MiB per thread resident afterwards (an untuned daemon idled at
 *   150-230 MB after a few concurrent logins). A fixed mmap threshold gives
 *   big blocks back on free; two arenas bound the rest. The price: each hash
 *   maps its 16 MiB afresh (page faults, a few ms), which the bench counts
 *   as part of the hash.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

export const DAEMON_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(1024 * 1024),
};
