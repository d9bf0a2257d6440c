import type { FloatingIpSpec } from '../driver.js';
import { addrOf, coverCidrs4, normCidr4 } from '../addr.js';
import { hashLines, q } from './sg-render.js';

/**
 * The nftables table of a router namespace (`ip <p>_router`), written whole
 * and replaced atomically when its content hash (the name of an empty
 * marker chain) differs.
 *
 * - Floating IPs: 1:1 DNAT in prerouting, SNAT of the fixed IP out of the
 *   gateway leg. The floating addresses sit as /32s on the gateway leg, so
 *   the router answers ARP for them itself (as Neutron's legacy routers do);
 *   proxy ARP would need a route and a sysctl per address for the same
 *   effect, and would answer for addresses not configured.
 * - SNAT (enable_snat): the attached subnets leave the gateway leg with the
 *   gateway's first address (snat to a fixed address, not masquerade, so
 *   it does not depend on which address the kernel picks).
 * - Hairpin: a guest reaching another guest's floating IP from inside is
 *   masqueraded to the router leg, so the reply comes back through the router.
 * - Input from the gateway leg: only replies and ping; the metadata
 *   listener and anything else on the router stay unreachable from outside.
 * - With SNAT on, new connections from outside reach guests only through a
 *   floating IP (DNAT).
 */

export interface RouterNatInput {
  table: string;
  gatewayDev: string | null;
  gatewayIp: string | null;
  internalCidrs: string[];
  snat: boolean;
  floatingIps: FloatingIpSpec[];
}

/** The marker chain name that carries the table's content hash. */
export function natHashChain(hash: string): string {
  return `h_${hash}`;
}

/** The table's text (without the marker chain) and its hash. */
export function renderRouterNat(o: RouterNatInput): { lines: string[]; hash: string } {
  const gw = o.gatewayDev ? q(o.gatewayDev) : null;
  const internal = coverCidrs4(o.internalCidrs);
  const fips = [...o.floatingIps].sort((a, b) => (a.floatingIp < b.floatingIp ? -1 : a.floatingIp > b.floatingIp ? 1 : 0));
  const pre: string[] = [];
  const post: string[] = [];
  const input: string[] = [];
  const forward: string[] = [];
  if (gw) {
    for (const f of fips) {
      pre.push(`ip daddr ${normCidr4(f.floatingIp)} dnat to ${addrOf(normCidr4(f.fixedIp))}`);
      post.push(`oifname ${gw} ip saddr ${normCidr4(f.fixedIp)} snat to ${normCidr4(f.floatingIp)}`);
    }
    if (o.snat && o.gatewayIp && internal.length > 0) {
      post.push(`oifname ${gw} ip saddr { ${internal.join(', ')} } snat to ${addrOf(o.gatewayIp)}`);
    }
    input.push(`iifname ${gw} ct state established,related accept`, `iifname ${gw} meta l4proto icmp accept`, `iifname ${gw} drop`);
    if (o.snat) forward.push(`iifname ${gw} ct state established,related accept`, `iifname ${gw} ct status dnat accept`, `iifname ${gw} drop`);
  }
  if (internal.length > 0) {
    post.push(`ct status dnat ip saddr { ${internal.join(', ')} }${gw ? ` oifname != ${gw}` : ''} masquerade`);
  }
  const chain = (name: string, head: string, rules: string[]): string[] => [`  chain ${name} {`, `    ${head}`, ...rules.map((r) => `    ${r}`), '  }'];
  const body = [
    ...chain('c_pre', 'type nat hook prerouting priority -100; policy accept;', pre),
    ...chain('c_post', 'type nat hook postrouting priority 100; policy accept;', post),
    ...chain('c_in', 'type filter hook input priority 0; policy accept;', input),
    ...chain('c_fwd', 'type filter hook forward priority 0; policy accept;', forward),
  ];
  const hash = hashLines(body);
  return { lines: [`table ip ${o.table} {`, `  chain ${natHashChain(hash)} {`, '  }', ...body, '}'], hash };
}

/** One transaction that replaces the table whole (the empty add makes the delete safe when it is missing). */
export function replaceTable(table: string, lines: readonly string[]): string[] {
  return [`table ip ${table} {`, '}', `delete table ip ${table}`, ...lines];
}
