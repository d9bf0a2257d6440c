import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SpawnExec, type HostExec } from '../../exec.js';
import type {
  DhcpSpec,
  EnsureResult,
  HostInventory,
  NetworkBinding,
  NetworkDriver,
  NetworkSpec,
  PortBinding,
  PortSpec,
  RouterSpec,
  SecurityGroupSpec,
} from '../driver.js';
import { normMac } from '../addr.js';
import { HostNames } from '../names.js';
import { dnsmasqFiles, ensureDnsmasq, removeDnsmasq } from './dnsmasq.js';
import { IpNs } from './ip.js';
import { MetadataProxies, type MetadataUpstream } from './metadata-proxy.js';
import { ensureDhcpNamespace, ensureRouter, removeNamespaceWithLegs, removeRouter, type NamespaceContext } from './namespaces.js';
import { Netns } from './netns.js';
import { SecurityTables } from './sg-tables.js';

export interface LinuxNetworkDriverOptions {
  /** config.hostPrefix */
  prefix: string;
  /** config.sandbox: the namespace holding the whole data plane, made if missing; null = the machine itself. */
  sandbox: string | null;
  /** Where DHCP files (configs, leases, pid files) live: <data dir>/network. */
  stateDir: string;
  /** Where the metadata proxy forwards to. */
  metadataUpstream: MetadataUpstream;
  /** Port the metadata listeners bind inside namespaces (80; tests may change it). */
  metadataPort?: number;
  exec?: HostExec;
  /** DHCP lease time (Neutron's default is a day). */
  leaseSeconds?: number;
  /**
   * How long one check of the nft tables' layout markers vouches for the
   * cached mirror (default 0: every call checks). A daemon whose resync
   * calls refresh() can afford a second or so.
   */
  markerCheckTtlMs?: number;
}

/** Sysctls of the sandbox namespace: bridged IPv4 through the inet hooks (stateful filtering); no routing by the host itself. */
const SANDBOX_SYSCTLS: Record<string, string> = {
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.ipv4.ip_forward': '0',
};

/**
 * The Linux data plane: bridges, taps, router and DHCP namespaces,
 * nftables, dnsmasq and the metadata proxy, all in the host namespace (the
 * sandbox in sandbox mode) or namespaces named from it.
 */
export class LinuxNetworkDriver implements NetworkDriver {
  readonly names: HostNames;
  readonly exec: HostExec;
  readonly hostNetns: string | null;
  private readonly netns: Netns;
  private readonly host: IpNs;
  private readonly sg: SecurityTables;
  private readonly metadata: MetadataProxies;
  private readonly ctx: NamespaceContext;

  constructor(private readonly opts: LinuxNetworkDriverOptions) {
    this.names = new HostNames(opts.prefix);
    this.exec = opts.exec ?? new SpawnExec();
    this.hostNetns = opts.sandbox;
    this.netns = new Netns(this.exec);
    this.host = new IpNs(this.exec, this.hostNetns);
    this.sg = new SecurityTables(this.exec, this.hostNetns, this.names.prefix, opts.markerCheckTtlMs ?? 0);
    this.metadata = new MetadataProxies(this.netns, opts.metadataUpstream, opts.metadataPort);
    this.ctx = { exec: this.exec, names: this.names, hostNetns: this.hostNetns, netns: this.netns, metadata: this.metadata };
  }

  async ensureHost(): Promise<EnsureResult> {
    let changed = false;
    if (this.hostNetns) {
      if (await this.netns.ensure(this.hostNetns)) changed = true;
      if (await this.netns.ensureSysctls(this.hostNetns, SANDBOX_SYSCTLS)) changed = true;
    }
    // On the machine itself, br_netfilter is switched on per bridge (ensureBridge), not globally.
    if (await this.sg.ensureTables()) changed = true;
    return { changed };
  }

  private networkBinding(spec: { networkId: string; mtu: number }): NetworkBinding {
    return { bridge: this.names.bridge(spec.networkId), netns: this.hostNetns, mtu: spec.mtu };
  }

  async ensureNetwork(spec: NetworkSpec): Promise<EnsureResult & { binding: NetworkBinding }> {
    const binding = this.networkBinding(spec);
    // The zone is a map element keyed by the bridge's name: it needs no bridge, so it is set meanwhile.
    const [link, zone] = await Promise.allSettled([
      (async () => {
        const made = await this.host.ensureBridge(binding.bridge, spec.mtu);
        return (await this.host.ensureAddrs(binding.bridge, spec.hostAddresses ?? [])) || made;
      })(),
      this.sg.ensureZone(binding.bridge),
    ]);
    if (link.status === 'rejected') throw link.reason;
    if (zone.status === 'rejected') throw zone.reason;
    return { changed: link.value || zone.value, binding };
  }

  async removeNetwork(networkId: string): Promise<EnsureResult> {
    const bridge = this.names.bridge(networkId);
    const a = await this.host.removeLink(bridge);
    const b = await this.sg.removeZone(bridge);
    return { changed: a || b };
  }

  async ensurePort(spec: PortSpec): Promise<EnsureResult & { binding: PortBinding; waiting?: boolean }> {
    const tap = this.names.tap(spec.portId);
    const bridge = this.names.bridge(spec.networkId);
    const binding: PortBinding = { tap, bridge, mac: normMac(spec.mac), mtu: spec.mtu, netns: this.hostNetns };
    let changed = false;
    let waiting = false;
    if (spec.plug === 'tap') {
      changed = await this.host.ensureTap(tap, spec.mtu, bridge);
    } else {
      const cur = await this.host.link(tap);
      if (cur) changed = await this.host.ensureUp(cur, spec.mtu, bridge);
      else waiting = true;
    }
    const key = this.names.key(spec.portId);
    if (spec.portSecurity) {
      const groupKeys = spec.securityGroupIds.map((g) => this.names.key(g));
      const f = { key, ifname: tap, mac: spec.mac, fixedIps: spec.fixedIps, allowedAddressPairs: spec.allowedAddressPairs, groupKeys };
      if (await this.sg.ensurePort(f)) changed = true;
    } else if (await this.sg.removePort(key, tap)) {
      changed = true;
    }
    return { changed, binding, ...(waiting ? { waiting } : {}) };
  }

  /** Removes the port's tap and filtering, and a host-side leg with its key (a router or DHCP port's, left without its namespace). */
  async removePort(portId: string): Promise<EnsureResult> {
    const tap = this.names.tap(portId);
    const a = await this.host.removeLink(tap);
    const b = await this.sg.removePort(this.names.key(portId), tap);
    const c = await this.host.removeLink(this.names.vethHost(portId));
    return { changed: a || b || c };
  }

  async ensureSecurityGroup(spec: SecurityGroupSpec): Promise<EnsureResult> {
    const changed = await this.sg.ensureGroup(this.names.key(spec.groupId), spec.rules, spec.memberIps, (g) => this.names.key(g));
    return { changed };
  }

  async removeSecurityGroup(groupId: string): Promise<EnsureResult> {
    return { changed: await this.sg.removeGroup(this.names.key(groupId)) };
  }

  async ensureRouter(spec: RouterSpec): Promise<EnsureResult> {
    return { changed: await ensureRouter(this.ctx, spec) };
  }

  async removeRouter(routerId: string): Promise<EnsureResult> {
    return { changed: await removeRouter(this.ctx, routerId) };
  }

  private dhcpFiles(networkId: string): ReturnType<typeof dnsmasqFiles> {
    return dnsmasqFiles(join(this.opts.stateDir, 'dhcp'), networkId);
  }

  async ensureDhcp(spec: DhcpSpec): Promise<EnsureResult> {
    const { ns, leg, changed: nsChanged } = await ensureDhcpNamespace(this.ctx, spec.networkId, spec.port, spec.mtu, spec.metadata);
    const identity = await this.netns.identity(ns);
    const changed = await ensureDnsmasq(
      this.exec,
      ns,
      identity,
      {
        networkId: spec.networkId,
        interface: leg,
        portCidrs: spec.port.cidrs,
        subnets: spec.subnets,
        hosts: spec.hosts,
        domain: spec.domain,
        mtu: spec.mtu,
        metadata: spec.metadata,
        upstreamDns: this.hostNetns ? [] : (spec.upstreamDns ?? []),
        leaseSeconds: this.opts.leaseSeconds ?? 86_400,
      },
      this.dhcpFiles(spec.networkId),
    );
    return { changed: nsChanged || changed };
  }

  async removeDhcp(networkId: string): Promise<EnsureResult> {
    const files = this.dhcpFiles(networkId);
    const a = await removeDnsmasq(files);
    const ns = this.names.dhcpNetns(networkId);
    const b = await this.metadata.remove(ns);
    const c = await removeNamespaceWithLegs(this.ctx, ns);
    await rm(files.dir, { recursive: true, force: true });
    return { changed: a || b || c };
  }

  async inventory(): Promise<HostInventory> {
    const inv: HostInventory = { bridges: [], taps: [], legs: [], routers: [], dhcp: [], filteredPorts: [], securityGroups: [] };
    for (const l of await this.host.links()) {
      const p = this.names.parseLink(l.ifname);
      if (p?.kind === 'bridge') inv.bridges.push(p.key);
      else if (p?.kind === 'tap') inv.taps.push(p.key);
      else if (p?.kind === 'veth-host') inv.legs.push(p.key);
    }
    for (const n of await this.netns.list()) {
      const p = this.names.parseNetns(n);
      if (p?.kind === 'router') inv.routers.push(p.id);
      else if (p?.kind === 'dhcp') inv.dhcp.push(p.id);
    }
    const sg = await this.sg.inventory();
    inv.filteredPorts = sg.ports;
    inv.securityGroups = sg.groups;
    return inv;
  }

  async refresh(): Promise<void> {
    this.sg.invalidate();
    this.netns.forget();
  }

  async close(): Promise<void> {
    await this.metadata.closeAll();
  }

  /**
   * Removes everything this cloud made on the host: namespaces, links,
   * tables, dnsmasqs; the sandbox namespace too when `sandbox` is set.
   */
  async teardown(opts: { sandbox?: boolean } = {}): Promise<void> {
    await this.metadata.closeAll();
    const inv = await this.inventory();
    for (const id of inv.dhcp) await this.removeDhcp(id);
    for (const id of inv.routers) await this.removeRouter(id);
    for (const k of inv.taps) await this.host.removeLink(this.names.tap(k));
    for (const k of inv.legs) await this.host.removeLink(this.names.vethHost(k));
    for (const k of inv.bridges) await this.host.removeLink(this.names.bridge(k));
    await this.sg.removeTables();
    if (opts.sandbox && this.hostNetns) await this.netns.remove(this.hostNetns);
  }
}
