import { assertIfName, assertNetnsName, isAlreadyExists, isNotFound, type HostExec } from '../../exec.js';
import { isIp4OrCidr, normCidr4 } from '../addr.js';

/**
 * iproute2 through `ip -n NS -j ...`: reads links, addresses and routes as
 * JSON and changes only what differs. Every "ensure" returns whether it
 * changed something; "already there" and "already gone" are success.
 */

/** A link as `ip -j -d link show` reports it (the fields we use). */
export interface LinkInfo {
  ifname: string;
  ifindex: number;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  /** The peer's name (veth) when the peer is in the same namespace. */
  link?: string;
  /** Peer is in another namespace: its link-netnsid. */
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

export interface AddrInfo {
  family: string;
  local: string;
  prefixlen: number;
}

export interface RouteInfo {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
}

const IP = '/usr/sbin/ip';

/**
 * A route's identity as "dst via": `ip -j` prints "default" for 0.0.0.0/0
 * and a host route without "/32", so both sides are normalised alike.
 */
export function routeKey(dst: string, via: string): string {
  const d = dst === 'default' ? '0.0.0.0/0' : isIp4OrCidr(dst) ? normCidr4(dst) : dst;
  return `${d} ${via}`;
}

/** `ip` in one namespace (null = the namespace Stacklet runs in). */
export class IpNs {
  constructor(
    private readonly exec: HostExec,
    readonly netns: string | null,
  ) {
    if (netns !== null) assertNetnsName(netns);
  }

  private argv(args: string[]): string[] {
    return this.netns ? [IP, '-n', this.netns, ...args] : [IP, ...args];
  }

  async read<T>(args: string[]): Promise<T> {
    const { stdout } = await this.exec.run(this.argv(['-j', ...args]), { readOnly: true });
    const text = stdout.trim();
    return (text === '' ? [] : JSON.parse(text)) as T;
  }

  async do(args: string[]): Promise<void> {
    await this.exec.run(this.argv(args));
  }

  /**
   * Several changes in one `ip -batch` process (each `ip` costs ~10 ms to
   * start; a new router leg is a handful of them). Stops at the first
   * failing line. Tokens are validated names and addresses: a blank in one
   * would split it, so it is refused.
   */
  async batch(lines: readonly string[][]): Promise<void> {
    if (lines.length === 0) return;
    if (lines.length === 1 && lines[0]) return this.do(lines[0]);
    for (const l of lines) for (const t of l) if (t === '' || /\s/.test(t)) throw new Error(`ip batch: bad token ${JSON.stringify(t)}`);
    await this.exec.run(this.argv(['-batch', '-']), { stdin: lines.map((l) => l.join(' ')).join('\n') + '\n' });
  }

  /** Every link, with details (kind, bridge data). */
  links(): Promise<LinkInfo[]> {
    return this.read<LinkInfo[]>(['-d', 'link', 'show']);
  }

  async link(name: string): Promise<LinkInfo | null> {
    assertIfName(name);
    try {
      const list = await this.read<LinkInfo[]>(['-d', 'link', 'show', 'dev', name]);
      return list[0] ?? null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async addrs(dev?: string): Promise<Map<string, AddrInfo[]>> {
    const rows = await this.read<{ ifname: string; addr_info?: AddrInfo[] }[]>(dev ? ['addr', 'show', 'dev', assertIfName(dev)] : ['addr', 'show']);
    return new Map(rows.map((r) => [r.ifname, r.addr_info ?? []]));
  }

  routes(): Promise<RouteInfo[]> {
    return this.read<RouteInfo[]>(['-4', 'route', 'show', 'table', 'main']);
  }

  /** Deletes a link; true when it was there. */
  async removeLink(name: string): Promise<boolean> {
    assertIfName(name);
    try {
      await this.do(['link', 'del', 'dev', name]);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** A Linux bridge without STP, with br_netfilter calls on for IPv4 (stateful filtering of bridged traffic). */
  async ensureBridge(name: string, mtu: number): Promise<boolean> {
    let cur = await this.link(name);
    let changed = false;
    if (cur && cur.linkinfo?.info_kind !== 'bridge') {
      await this.removeLink(name);
      cur = null;
    }
    if (!cur) {
      await this.do(['link', 'add', 'name', name, 'mtu', String(mtu), 'up', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'nf_call_iptables', '1']);
      return true;
    }
    const data = cur.linkinfo?.info_data ?? {};
    if (data['nf_call_iptables'] !== 1 || data['stp_state'] !== 0) {
      await this.do(['link', 'set', 'dev', name, 'type', 'bridge', 'stp_state', '0', 'nf_call_iptables', '1']);
      changed = true;
    }
    return (await this.ensureUp(cur, mtu)) || changed;
  }

  /** Sets MTU and state up when they differ. */
  async ensureUp(cur: LinkInfo, mtu: number | null, master?: string | null): Promise<boolean> {
    const args: string[] = [];
    if (mtu !== null && cur.mtu !== mtu) args.push('mtu', String(mtu));
    if (master !== undefined && (cur.master ?? null) !== master) args.push(...(master === null ? ['nomaster'] : ['master', assertIfName(master)]));
    if (!cur.flags.includes('UP')) args.push('up');
    if (args.length === 0) return false;
    await this.do(['link', 'set', 'dev', cur.ifname, ...args]);
    return true;
  }

  /** A persistent single-queue tap that qemu opens by name (`-netdev tap,ifname=X,script=no,downscript=no`). */
  async ensureTap(name: string, mtu: number, bridge: string): Promise<boolean> {
    let cur = await this.link(name);
    if (cur && cur.linkinfo?.info_kind !== 'tun') {
      await this.removeLink(name);
      cur = null;
    }
    if (!cur) {
      try {
        await this.do(['tuntap', 'add', 'dev', name, 'mode', 'tap']);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // Someone made it between our look and our add: converge what is there.
        cur = await this.link(name);
        if (!cur) throw new Error(`tap ${name} vanished right after it was made`);
        await this.ensureUp(cur, mtu, bridge);
        return true;
      }
      // A new tap is down, on no bridge, at the default MTU: set all three without looking.
      await this.do(['link', 'set', 'dev', name, 'mtu', String(mtu), 'master', assertIfName(bridge), 'up']);
      return true;
    }
    return this.ensureUp(cur, mtu, bridge);
  }

  /**
   * A veth pair: `name` here (optionally on a bridge) and `peer` in
   * `peerNetns`. A half pair, or one whose peer is elsewhere, is rebuilt.
   */
  async ensureVeth(o: { name: string; peer: string; peerNetns: string; mtu: number; bridge: string | null; peerMac?: string; peerCidrs?: readonly string[] }): Promise<boolean> {
    const peerIp = new IpNs(this.exec, o.peerNetns);
    const [cur, peer] = await Promise.all([this.link(o.name), peerIp.link(o.peer)]);
    const paired = cur !== null && peer !== null && cur.linkinfo?.info_kind === 'veth' && peer.linkinfo?.info_kind === 'veth' && cur.link_netnsid !== undefined;
    if (!paired) {
      if (cur) await this.removeLink(o.name);
      if (peer) await peerIp.removeLink(o.peer);
      // Made whole in two processes: this end up on its bridge, then the peer up with its addresses.
      const add = ['link', 'add', 'name', o.name, 'mtu', String(o.mtu), 'up', ...(o.bridge ? ['master', assertIfName(o.bridge)] : [])];
      add.push('type', 'veth', 'peer', 'name', o.peer, 'mtu', String(o.mtu));
      if (o.peerMac) add.push('address', o.peerMac);
      add.push('netns', o.peerNetns);
      await this.do(add);
      await peerIp.batch([['link', 'set', 'dev', o.peer, 'up'], ...(o.peerCidrs ?? []).map((c) => ['addr', 'add', c, 'dev', o.peer])]);
      return true;
    }
    let changed = false;
    if (o.peerCidrs && (await peerIp.ensureAddrs(o.peer, o.peerCidrs))) changed = true;
    if (o.peerMac && peer && peer.address !== o.peerMac.toLowerCase()) {
      await peerIp.do(['link', 'set', 'dev', o.peer, 'address', o.peerMac]);
      changed = true;
    }
    if (peer && (await peerIp.ensureUp(peer, o.mtu))) changed = true;
    if (cur && (await this.ensureUp(cur, o.mtu, o.bridge))) changed = true;
    return changed;
  }

  /**
   * Makes `dev` hold exactly `cidrs` (IPv4, "a.b.c.d/len") among the
   * addresses we manage: adds the missing, removes the others.
   */
  async ensureAddrs(dev: string, cidrs: readonly string[]): Promise<boolean> {
    assertIfName(dev);
    const have = ((await this.addrs(dev)).get(dev) ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
    const want = new Set(cidrs);
    let changed = false;
    for (const a of have) {
      if (!want.has(a)) {
        await this.removeAddr(dev, a);
        changed = true;
      }
    }
    for (const a of want) {
      if (!have.includes(a)) {
        try {
          await this.do(['addr', 'add', a, 'dev', dev]);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
        changed = true;
      }
    }
    return changed;
  }

  async removeAddr(dev: string, cidr: string): Promise<boolean> {
    try {
      await this.do(['addr', 'del', cidr, 'dev', assertIfName(dev)]);
      return true;
    } catch (err) {
      if (isNotFound(err) || /Cannot assign requested address/.test(String(err))) return false;
      throw err;
    }
  }

  /**
   * Makes the main table's gateway routes (those with a `via`) exactly
   * `want`; on-link routes the kernel makes for addresses are left alone.
   */
  async ensureGatewayRoutes(want: readonly { dst: string; via: string }[], fresh = false): Promise<boolean> {
    // A namespace just made has only the kernel's on-link routes.
    const have = (fresh ? [] : await this.routes()).filter((r) => r.gateway !== undefined && r.protocol !== 'kernel');
    const key = routeKey;
    const haveKeys = new Map(have.map((r) => [key(r.dst, r.gateway ?? ''), r]));
    const wantKeys = new Map(want.map((r) => [key(r.dst, r.via), r]));
    let changed = false;
    for (const [k, r] of haveKeys) {
      if (!wantKeys.has(k)) {
        try {
          await this.do(['route', 'del', r.dst, 'via', r.gateway ?? '']);
        } catch (err) {
          if (!isNotFound(err) && !/No such process/.test(String(err))) throw err;
        }
        changed = true;
      }
    }
    for (const [k, r] of wantKeys) {
      if (!haveKeys.has(k)) {
        await this.do(['route', 'replace', r.dst === '0.0.0.0/0' ? 'default' : r.dst, 'via', r.via]);
        changed = true;
      }
    }
    return changed;
  }
}
