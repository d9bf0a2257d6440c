import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostExec } from '../../exec.js';
import type { DhcpHostSpec, DhcpSubnetSpec } from '../driver.js';
import { addrOf, isIp4OrCidr, netmask, normMac, parseCidr4 } from '../addr.js';
import { METADATA_ADDRESS } from './metadata-proxy.js';

/**
 * dnsmasq for one network, in that network's DHCP namespace: static leases
 * only (`dhcp-range=...,static`) for the ports in the hosts file, options
 * per subnet in the opts file. Both files are re-read on SIGHUP, so a port
 * or subnet option change is a signal, not a restart; only a change of the
 * main config (interface, ranges, paths) restarts it. The lease file lives
 * in the data dir and survives restarts. A running dnsmasq is found again
 * by its pid file, checked against /proc/PID/cmdline and the namespace it
 * runs in.
 */

export interface DnsmasqInput {
  networkId: string;
  interface: string;
  /** The DHCP port's addresses with prefix, one per subnet it serves. */
  portCidrs: string[];
  subnets: DhcpSubnetSpec[];
  hosts: DhcpHostSpec[];
  domain: string;
  mtu: number;
  /** Route guests to the metadata proxy in this namespace (option 121). */
  metadata: boolean;
  /** Resolvers to forward to; empty means answer only our own names (always so in sandbox mode). */
  upstreamDns: string[];
  leaseSeconds: number;
}

export interface DnsmasqFiles {
  dir: string;
  conf: string;
  hosts: string;
  opts: string;
  leases: string;
  pid: string;
  log: string;
}

export function dnsmasqFiles(baseDir: string, networkId: string): DnsmasqFiles {
  const dir = join(baseDir, networkId);
  return {
    dir,
    conf: join(dir, 'dnsmasq.conf'),
    hosts: join(dir, 'hosts'),
    opts: join(dir, 'opts'),
    leases: join(dir, 'leases'),
    pid: join(dir, 'dnsmasq.pid'),
    log: join(dir, 'dnsmasq.log'),
  };
}

/** A DNS label from a host name: what dnsmasq will accept and answer for. */
export function dnsLabel(name: string): string {
  const l = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return l === '' ? 'host' : l;
}

function v4Subnets(subnets: readonly DhcpSubnetSpec[]): DhcpSubnetSpec[] {
  return subnets.filter((s) => isIp4OrCidr(s.cidr) && s.cidr.includes('/'));
}

function tagOf(i: number): string {
  return `s${i}`;
}

/** The DHCP port's address inside a subnet (the DNS server and metadata next hop guests get). */
function portAddrIn(cidr: string, portCidrs: readonly string[]): string | null {
  const net = parseCidr4(cidr);
  for (const pc of portCidrs) {
    const a = addrOf(pc);
    if (parseCidr4(`${a}/${net.len}`).base === net.base) return a;
  }
  return null;
}

/** The main config: what needs a restart when it changes. */
export function renderDnsmasqConf(o: DnsmasqInput, f: DnsmasqFiles): string {
  const lines = [
    `# Stacklet: DHCP and DNS for network ${o.networkId}. Generated; edits are overwritten.`,
    `interface=${o.interface}`,
    'bind-interfaces',
    'except-interface=lo',
    'no-resolv',
    'no-hosts',
    'no-ping',
    `domain=${o.domain}`,
    `local=/${o.domain}/`,
    ...o.upstreamDns.map((s) => `server=${s}`),
    ...v4Subnets(o.subnets).map((s, i) => {
      const net = parseCidr4(s.cidr);
      return `dhcp-range=set:${tagOf(i)},${addrOf(s.cidr)},static,${netmask(net.len)},${o.leaseSeconds}s`;
    }),
    'dhcp-authoritative',
    `dhcp-lease-max=${Math.max(256, o.hosts.length * 2)}`,
    `dhcp-hostsfile=${f.hosts}`,
    `dhcp-optsfile=${f.opts}`,
    `dhcp-leasefile=${f.leases}`,
    `pid-file=${f.pid}`,
    `log-facility=${f.log}`,
    'log-dhcp',
    // Files under the data dir are root's; dnsmasq writes its lease file after dropping privileges.
    'user=root',
  ];
  return `${lines.join('\n')}\n`;
}

/** Static leases: MAC, address, name; only for ports that exist. */
export function renderDnsmasqHosts(hosts: readonly DhcpHostSpec[]): string {
  const rows = [...hosts]
    .filter((h) => isIp4OrCidr(h.ip) && !h.ip.includes('/'))
    .map((h) => `${normMac(h.mac)},${h.ip},${dnsLabel(h.hostname)}`)
    .sort();
  return rows.length > 0 ? `${rows.join('\n')}\n` : '';
}

/** Per-subnet options: router, DNS, classless routes (121), MTU (26), domain. */
export function renderDnsmasqOpts(o: DnsmasqInput): string {
  const rows: string[] = [];
  v4Subnets(o.subnets).forEach((s, i) => {
    const tag = `tag:${tagOf(i)}`;
    const own = portAddrIn(s.cidr, o.portCidrs);
    rows.push(s.gatewayIp ? `${tag},option:router,${s.gatewayIp}` : `${tag},option:router`);
    const dns = s.dnsNameservers.filter((d) => isIp4OrCidr(d) && !d.includes('/'));
    if (dns.length > 0) rows.push(`${tag},option:dns-server,${dns.join(',')}`);
    else if (own) rows.push(`${tag},option:dns-server,${own}`);
    const routes: string[] = [];
    for (const r of s.hostRoutes) if (isIp4OrCidr(r.destination) && isIp4OrCidr(r.nexthop)) routes.push(`${r.destination},${r.nexthop}`);
    if (o.metadata && own) routes.push(`${METADATA_ADDRESS}/32,${own}`);
    if (routes.length > 0) {
      // A client that gets option 121 ignores option 3 (RFC 3442), so the default route goes in too.
      if (s.gatewayIp && !s.hostRoutes.some((r) => r.destination === '0.0.0.0/0')) routes.push(`0.0.0.0/0,${s.gatewayIp}`);
      rows.push(`${tag},option:classless-static-route,${routes.join(',')}`);
    }
    rows.push(`${tag},option:mtu,${o.mtu}`);
    rows.push(`${tag},option:domain-name,${o.domain}`);
  });
  return rows.length > 0 ? `${rows.join('\n')}\n` : '';
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Writes a file atomically (temp + rename) when its content differs; true when it did. */
export async function writeIfChanged(path: string, text: string): Promise<boolean> {
  if ((await readText(path)) === text) return false;
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of our dnsmasq for this config, running in this namespace (by identity), or null. */
export async function findDnsmasq(f: DnsmasqFiles, netnsIdentity: string | null): Promise<number | null> {
  const pid = Number((await readText(f.pid))?.trim());
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return null;
  const cmdline = (await readText(`/proc/${pid}/cmdline`))?.split('\0') ?? [];
  if (!(cmdline[0] ?? '').endsWith('dnsmasq') || !cmdline.includes(`--conf-file=${f.conf}`)) return null;
  if (netnsIdentity !== null) {
    try {
      const s = await stat(`/proc/${pid}/ns/net`);
      if (`${s.dev}:${s.ino}` !== netnsIdentity) return -pid;
    } catch {
      return null;
    }
  }
  return pid;
}

/** Stops a process by pid: SIGTERM, then SIGKILL after a grace period. */
export async function stopPid(pid: number, graceMs = 2_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * The lease file without the leases whose MAC and address no longer pair
 * in the hosts file (a deleted port's). dnsmasq keeps a leased address
 * from anyone else until the lease expires, hosts file or not: the next
 * port given that address would get no DHCP answer at all. Lines are
 * `expiry mac ip name client-id`.
 */
export function withoutStaleLeases(leases: string, hosts: readonly DhcpHostSpec[]): { text: string; dropped: number } {
  const pairs = new Set(hosts.map((h) => `${normMac(h.mac)} ${h.ip}`));
  const kept: string[] = [];
  let dropped = 0;
  for (const line of leases.split('\n')) {
    if (line.trim() === '') continue;
    const [, mac, ip] = line.trim().split(/\s+/);
    if (mac !== undefined && ip !== undefined && !ip.includes(':') && !pairs.has(`${normMac(mac)} ${ip}`)) dropped++;
    else kept.push(line);
  }
  return { text: kept.length > 0 ? `${kept.join('\n')}\n` : '', dropped };
}

/**
 * Makes a dnsmasq with this input run in `netns`: writes the files,
 * SIGHUPs for hosts/options changes, restarts for config changes, starts
 * it when missing. A deleted port's lease is dropped, which means a
 * restart: dnsmasq reads its lease file only when it starts (Neutron
 * sends a DHCPRELEASE for it instead, with a tool Debian ships apart).
 * Returns whether anything changed.
 */
export async function ensureDnsmasq(exec: HostExec, netns: string, netnsIdentity: string | null, o: DnsmasqInput, f: DnsmasqFiles): Promise<boolean> {
  await mkdir(f.dir, { recursive: true, mode: 0o755 });
  const confChanged = await writeIfChanged(f.conf, renderDnsmasqConf(o, f));
  const hostsChanged = await writeIfChanged(f.hosts, renderDnsmasqHosts(o.hosts));
  const optsChanged = await writeIfChanged(f.opts, renderDnsmasqOpts(o));
  let pid = await findDnsmasq(f, netnsIdentity);
  if (pid !== null && pid < 0) {
    // Ours, but left in a namespace that was deleted and made again: useless there.
    await stopPid(-pid);
    pid = null;
  }
  if (pid !== null && confChanged) {
    await stopPid(pid);
    pid = null;
  }
  if (pid === null || hostsChanged) {
    const { text, dropped } = withoutStaleLeases((await readText(f.leases)) ?? '', o.hosts);
    if (dropped > 0) {
      // Stopped first: dnsmasq rewrites the whole file from memory on its next lease change.
      if (pid !== null) await stopPid(pid);
      pid = null;
      await writeFile(f.leases, text);
    }
  }
  if (pid === null) {
    await exec.run(['/usr/sbin/dnsmasq', `--conf-file=${f.conf}`], { netns, timeoutMs: 15_000 });
    return true;
  }
  if (hostsChanged || optsChanged) {
    process.kill(pid, 'SIGHUP');
    return true;
  }
  return false;
}

/** Stops the network's dnsmasq (found by pid file); true when one ran. */
export async function removeDnsmasq(f: DnsmasqFiles): Promise<boolean> {
  const pid = await findDnsmasq(f, null);
  if (pid === null) return false;
  await stopPid(Math.abs(pid));
  return true;
}
