/**
 * Every name the data plane creates on the host, derived from an object id
 * and one prefix (config.hostPrefix), so two clouds never collide and the
 * reconciler can tell what is its own (parseName) and remove what nobody owns.
 *
 *   bridge of a network         <p>b-<key>       (in the host namespace)
 *   tap of a port               <p>t-<key>       (in the host namespace)
 *   host-side veth of a leg     <p>v-<key>       (on a bridge, in the host namespace)
 *   router-side veth of a leg   <p>r-<key>       (in the router namespace)
 *   dhcp-side veth              <p>d-<key>       (in the DHCP namespace)
 *   router namespace            <p>-qr-<router id>
 *   DHCP namespace              <p>-qd-<network id>
 *   nftables tables             <p>_sg (inet), <p>_ps (bridge), <p>_router (ip, in router namespaces)
 *
 * <key> is the first hex digits of the id (dashes dropped): 10 of them, or
 * fewer when the prefix is long, so the name stays within Linux's 15 bytes.
 */

export type LinkKind = 'bridge' | 'tap' | 'veth-host' | 'veth-router' | 'veth-dhcp';
export type NetnsKind = 'router' | 'dhcp';

const LINK_LETTER: Record<LinkKind, string> = {
  bridge: 'b',
  tap: 't',
  'veth-host': 'v',
  'veth-router': 'r',
  'veth-dhcp': 'd',
};
const LETTER_LINK = new Map(Object.entries(LINK_LETTER).map(([k, v]) => [v, k as LinkKind]));
const NETNS_LETTER: Record<NetnsKind, string> = { router: 'r', dhcp: 'd' };

/** Linux's IFNAMSIZ less the terminating NUL. */
const IFNAME_MAX = 15;

/** Throws unless the prefix is 1-5 of [a-z0-9] starting with a letter (config's own rule). */
export function assertPrefix(prefix: string): string {
  if (!/^[a-z][a-z0-9]{0,4}$/.test(prefix)) throw new Error(`invalid host prefix "${prefix}" (1-5 of [a-z0-9], starting with a letter)`);
  return prefix;
}

/** The hex digits of an id (dashes removed, lower case); throws when too few to name anything. */
export function idHex(id: string): string {
  const hex = id.toLowerCase().replaceAll('-', '');
  if (!/^[0-9a-f]{8,64}$/.test(hex)) throw new Error(`id "${id}" is not a hex/uuid id`);
  return hex;
}

/** How many hex digits of an id a link name carries with this prefix. */
export function keyLength(prefix: string): number {
  return Math.min(10, IFNAME_MAX - prefix.length - 2);
}

/** The short key of an id used in link, chain and set names. */
export function idKey(prefix: string, id: string): string {
  return idHex(id).slice(0, keyLength(prefix));
}

/** Names for one cloud (one prefix). */
export class HostNames {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = assertPrefix(prefix);
  }

  key(id: string): string {
    return idKey(this.prefix, id);
  }

  link(kind: LinkKind, id: string): string {
    return `${this.prefix}${LINK_LETTER[kind]}-${this.key(id)}`;
  }

  bridge(networkId: string): string {
    return this.link('bridge', networkId);
  }

  tap(portId: string): string {
    return this.link('tap', portId);
  }

  /** The leg end that sits on a bridge in the host namespace. */
  vethHost(portId: string): string {
    return this.link('veth-host', portId);
  }

  vethRouter(portId: string): string {
    return this.link('veth-router', portId);
  }

  vethDhcp(portId: string): string {
    return this.link('veth-dhcp', portId);
  }

  netns(kind: NetnsKind, id: string): string {
    return `${this.prefix}-q${NETNS_LETTER[kind]}-${id.toLowerCase()}`;
  }

  routerNetns(routerId: string): string {
    return this.netns('router', routerId);
  }

  dhcpNetns(networkId: string): string {
    return this.netns('dhcp', networkId);
  }

  /** nftables table names (per family; tables of different families may share a name). */
  get sgTable(): string {
    return `${this.prefix}_sg`;
  }

  get portSecurityTable(): string {
    return `${this.prefix}_ps`;
  }

  get routerTable(): string {
    return `${this.prefix}_router`;
  }

  /** Parses a link name of ours back into its kind and id key; null when not ours. */
  parseLink(name: string): { kind: LinkKind; key: string } | null {
    const p = this.prefix;
    if (!name.startsWith(p) || name.charAt(p.length + 1) !== '-') return null;
    const kind = LETTER_LINK.get(name.charAt(p.length));
    const key = name.slice(p.length + 2);
    if (!kind || !new RegExp(`^[0-9a-f]{${keyLength(p)}}$`).test(key)) return null;
    return { kind, key };
  }

  /** Parses a namespace name of ours back into its kind and full id; null when not ours. */
  parseNetns(name: string): { kind: NetnsKind; id: string } | null {
    const m = /^-q([rd])-([0-9a-f-]{10,64})$/.exec(name.startsWith(this.prefix) ? name.slice(this.prefix.length) : '');
    if (!m || m[2] === undefined) return null;
    return { kind: m[1] === 'r' ? 'router' : 'dhcp', id: m[2] };
  }

  /** True when `key` (from a parsed name) names the object with this id. */
  matches(key: string, id: string): boolean {
    return idHex(id).startsWith(key);
  }
}
