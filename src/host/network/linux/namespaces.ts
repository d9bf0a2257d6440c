import { isNotFound, type HostExec } from '../../exec.js';
import type { LegSpec, RouterSpec } from '../driver.js';
import { addrOf, normCidr4, normMac } from '../addr.js';
import type { HostNames } from '../names.js';
import { IpNs } from './ip.js';
import { METADATA_ADDRESS, type MetadataProxies } from './metadata-proxy.js';
import { Netns } from './netns.js';
import { Nft } from './nft.js';
import { natHashChain, renderRouterNat, replaceTable } from './router-nat.js';

/**
 * Router and DHCP namespaces: separate namespaces (Linux namespaces do not
 * nest), each with veth legs whose other ends sit on the networks' bridges
 * in the host namespace (the sandbox, in sandbox mode).
 */

export interface NamespaceContext {
  exec: HostExec;
  names: HostNames;
  /** The host namespace (sandbox) or null. */
  hostNetns: string | null;
  netns: Netns;
  metadata: MetadataProxies;
}

/** Sysctls of a router namespace: it forwards; anti-spoofing is done at the ports. */
const ROUTER_SYSCTLS: Record<string, string> = {
  'net.ipv4.ip_forward': '1',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
  'net.ipv4.conf.all.arp_announce': '2',
  'net.ipv4.conf.default.arp_announce': '2',
};

/** Sysctls of a DHCP namespace: no forwarding. */
const DHCP_SYSCTLS: Record<string, string> = {
  'net.ipv4.ip_forward': '0',
};

/**
 * Makes a namespace hold exactly these legs (links of `kind` with our
 * prefix; others of that kind are removed), each paired with a host-side
 * veth on its network's bridge.
 */
export async function ensureLegs(
  ctx: NamespaceContext,
  ns: string,
  kind: 'veth-router' | 'veth-dhcp',
  legs: readonly { leg: LegSpec; extraCidrs?: string[] }[],
  mtu: number,
  /** The namespace was just made: it has no legs to remove. */
  fresh = false,
): Promise<boolean> {
  const inNs = new IpNs(ctx.exec, ns);
  const host = new IpNs(ctx.exec, ctx.hostNetns);
  const want = new Set<string>();
  // Legs are independent links: converge them side by side (a router's legs are on its critical path).
  let changed = (
    await settleAll(
      legs.map(async ({ leg, extraCidrs }) => {
        const name = kind === 'veth-router' ? ctx.names.vethRouter(leg.portId) : ctx.names.vethDhcp(leg.portId);
        want.add(name);
        const bridge = ctx.names.bridge(leg.networkId);
        const cidrs = [...leg.cidrs, ...(extraCidrs ?? [])].map((x) => (x.includes('/') ? `${addrOf(x)}/${x.split('/')[1]}` : `${normCidr4(x)}/32`));
        try {
          return await host.ensureVeth({ name: ctx.names.vethHost(leg.portId), peer: name, peerNetns: ns, mtu: leg.mtu ?? mtu, bridge, peerMac: normMac(leg.mac), peerCidrs: cidrs });
        } catch (err) {
          // Not looked up first (a read per leg on the router's critical path): the bridge is what a leg's command can miss.
          if (isNotFound(err) && !(await host.link(bridge))) throw new Error(`bridge ${bridge} of network ${leg.networkId} does not exist yet`, { cause: err });
          throw err;
        }
      }),
    )
  ).some(Boolean);
  for (const l of fresh ? [] : await inNs.links()) {
    const parsed = ctx.names.parseLink(l.ifname);
    if (parsed?.kind === kind && !want.has(l.ifname)) {
      if (await inNs.removeLink(l.ifname)) changed = true;
    }
  }
  return changed;
}

/**
 * Runs independent host changes at once and waits for all of them, even
 * when one fails (so no change of this object is still running when the
 * queue retries it); then throws the first failure.
 */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const done = await Promise.allSettled(work);
  const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
  if (failed) throw failed.reason;
  return done.map((d) => (d as PromiseFulfilledResult<T>).value);
}

/** Loopback holds 169.254.169.254 exactly when metadata is served there. */
async function ensureMetadataAddress(ctx: NamespaceContext, ns: string, on: boolean, fresh: boolean): Promise<boolean> {
  const ip = new IpNs(ctx.exec, ns);
  // A new namespace's loopback holds 127.0.0.1/8 only.
  if (fresh) {
    if (on) await ip.do(['addr', 'add', `${METADATA_ADDRESS}/32`, 'dev', 'lo']);
    return on;
  }
  return ip.ensureAddrs('lo', ['127.0.0.1/8', ...(on ? [`${METADATA_ADDRESS}/32`] : [])]);
}

/** The whole router: namespace, legs, routes, NAT table, metadata. */
export async function ensureRouter(ctx: NamespaceContext, spec: RouterSpec): Promise<boolean> {
  const ns = ctx.names.routerNetns(spec.routerId);
  let changed = await ctx.netns.ensure(ns);
  const fresh = await ctx.netns.takeFresh(ns);
  if (await ctx.netns.ensureSysctls(ns, ROUTER_SYSCTLS, fresh)) changed = true;
  const legs: { leg: LegSpec; extraCidrs?: string[] }[] = spec.interfaces.map((leg) => ({ leg }));
  if (spec.gateway) legs.push({ leg: spec.gateway, extraCidrs: spec.floatingIps.map((f) => `${addrOf(f.floatingIp)}/32`) });
  const routes: { dst: string; via: string }[] = [];
  if (spec.gateway?.gatewayIp) routes.push({ dst: '0.0.0.0/0', via: spec.gateway.gatewayIp });
  for (const r of spec.routes) routes.push({ dst: normCidr4(r.destination).includes('/') ? normCidr4(r.destination) : `${normCidr4(r.destination)}/32`, via: r.nexthop });

  // Legs then routes (a gateway route needs its leg's address); loopback and the NAT table depend on neither.
  const parts = await settleAll([
    (async () => {
      const legsChanged = await ensureLegs(ctx, ns, 'veth-router', legs, spec.mtu, fresh);
      return (await new IpNs(ctx.exec, ns).ensureGatewayRoutes(routes, fresh)) || legsChanged;
    })(),
    ensureMetadataAddress(ctx, ns, spec.metadata, fresh),
    ensureRouterNat(ctx, ns, spec, fresh),
  ]);
  if (parts.some(Boolean)) changed = true;

  if (spec.metadata) {
    if (await ctx.metadata.ensure(ns, { routerId: spec.routerId })) changed = true;
  } else if (await ctx.metadata.remove(ns)) changed = true;
  return changed;
}

/** The router's NAT table, replaced whole when its content hash differs. */
async function ensureRouterNat(ctx: NamespaceContext, ns: string, spec: RouterSpec, fresh: boolean): Promise<boolean> {
  const internalCidrs = spec.interfaces.flatMap((l) => l.cidrs.filter((c) => c.includes('/')));
  const gwFirst = spec.gateway?.cidrs[0];
  const table = ctx.names.routerTable;
  const { lines, hash } = renderRouterNat({
    table,
    gatewayDev: spec.gateway ? ctx.names.vethRouter(spec.gateway.portId) : null,
    gatewayIp: gwFirst ? addrOf(gwFirst) : null,
    internalCidrs,
    snat: spec.snat,
    floatingIps: spec.floatingIps,
  });
  const nft = new Nft(ctx.exec, ns);
  const cur = fresh ? null : await nft.readTable('ip', table);
  if (cur?.chains.has(natHashChain(hash))) return false;
  await nft.apply(replaceTable(table, lines));
  return true;
}

/** Removes the router namespace (its legs go with it) and its metadata listener. */
export async function removeRouter(ctx: NamespaceContext, routerId: string): Promise<boolean> {
  const ns = ctx.names.routerNetns(routerId);
  const a = await ctx.metadata.remove(ns);
  const b = await removeNamespaceWithLegs(ctx, ns);
  return a || b;
}

/**
 * Deletes a namespace. Its veth legs die with it, taking their host-side
 * ends along, unless something still holds the namespace open; so legs are
 * deleted first.
 */
export async function removeNamespaceWithLegs(ctx: NamespaceContext, ns: string): Promise<boolean> {
  if (!(await ctx.netns.exists(ns))) return false;
  const inNs = new IpNs(ctx.exec, ns);
  for (const l of await inNs.links()) {
    if (ctx.names.parseLink(l.ifname)) await inNs.removeLink(l.ifname);
  }
  return ctx.netns.remove(ns);
}

/** Namespace and leg of a network's DHCP server (dnsmasq itself is dhcp.ts's). */
export async function ensureDhcpNamespace(ctx: NamespaceContext, networkId: string, port: LegSpec, mtu: number, metadata: boolean): Promise<{ ns: string; leg: string; changed: boolean }> {
  const ns = ctx.names.dhcpNetns(networkId);
  let changed = await ctx.netns.ensure(ns);
  const fresh = await ctx.netns.takeFresh(ns);
  if (await ctx.netns.ensureSysctls(ns, DHCP_SYSCTLS, fresh)) changed = true;
  if (await ensureLegs(ctx, ns, 'veth-dhcp', [{ leg: port }], mtu, fresh)) changed = true;
  if (await ensureMetadataAddress(ctx, ns, metadata, fresh)) changed = true;
  if (metadata) {
    if (await ctx.metadata.ensure(ns, { networkId })) changed = true;
  } else if (await ctx.metadata.remove(ns)) changed = true;
  return { ns, leg: ctx.names.vethDhcp(port.portId), changed };
}
