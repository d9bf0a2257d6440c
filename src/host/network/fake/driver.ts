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

/**
 * An in-memory NetworkDriver for reconciler unit tests: it keeps what was
 * ensured, records every call that changed something (as "ensureX id" /
 * "removeX id"), and follows the same rules as the Linux driver: idempotent,
 * "already there"/"already gone" are success, names from the same prefix.
 * Tests can preload state (as if the host had it) and inject failures.
 */

export interface FakeAction {
  op: keyof NetworkDriver;
  id: string;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class FakeNetworkDriver implements NetworkDriver {
  readonly names: HostNames;
  /** Calls that changed something, in order. */
  readonly actions: FakeAction[] = [];
  /** Every call, changed or not. */
  readonly calls: FakeAction[] = [];
  hostReady = false;
  readonly networks = new Map<string, NetworkSpec>();
  readonly ports = new Map<string, PortSpec>();
  readonly groups = new Map<string, SecurityGroupSpec>();
  readonly routers = new Map<string, RouterSpec>();
  readonly dhcp = new Map<string, DhcpSpec>();
  /** Make the next call of this op throw this error (once). */
  private readonly failures = new Map<string, Error>();

  constructor(
    prefix = 'sl',
    readonly sandbox: string | null = null,
  ) {
    this.names = new HostNames(prefix);
  }

  /** The next call of `op` throws `err`. */
  failNext(op: keyof NetworkDriver, err: Error = new Error(`injected failure of ${op}`)): void {
    this.failures.set(op, err);
  }

  /** Forgets everything (what a reboot does to the host). */
  wipe(): void {
    this.hostReady = false;
    for (const m of [this.networks, this.ports, this.groups, this.routers, this.dhcp]) m.clear();
  }

  /** Actions recorded so far, as strings, and clears them. */
  takeActions(): string[] {
    const out = this.actions.map((a) => `${a.op} ${a.id}`);
    this.actions.length = 0;
    return out;
  }

  private record(op: keyof NetworkDriver, id: string, changed: boolean): EnsureResult {
    const err = this.failures.get(op);
    if (err) {
      this.failures.delete(op);
      throw err;
    }
    this.calls.push({ op, id });
    if (changed) this.actions.push({ op, id });
    return { changed };
  }

  private put<T>(op: keyof NetworkDriver, map: Map<string, T>, id: string, spec: T): EnsureResult {
    const changed = !same(map.get(id), spec);
    const r = this.record(op, id, changed);
    map.set(id, structuredClone(spec));
    return r;
  }

  private drop<T>(op: keyof NetworkDriver, map: Map<string, T>, id: string): EnsureResult {
    const key = [...map.keys()].find((k) => k === id || this.names.matches(id, k));
    const r = this.record(op, id, key !== undefined);
    if (key !== undefined) map.delete(key);
    return r;
  }

  async ensureHost(): Promise<EnsureResult> {
    const r = this.record('ensureHost', this.sandbox ?? '', !this.hostReady);
    this.hostReady = true;
    return r;
  }

  async ensureNetwork(spec: NetworkSpec): Promise<EnsureResult & { binding: NetworkBinding }> {
    const r = this.put('ensureNetwork', this.networks, spec.networkId, spec);
    return { ...r, binding: { bridge: this.names.bridge(spec.networkId), netns: this.sandbox, mtu: spec.mtu } };
  }

  async removeNetwork(networkId: string): Promise<EnsureResult> {
    return this.drop('removeNetwork', this.networks, networkId);
  }

  async ensurePort(spec: PortSpec): Promise<EnsureResult & { binding: PortBinding }> {
    if (!this.networks.has(spec.networkId)) throw new Error(`bridge ${this.names.bridge(spec.networkId)} of network ${spec.networkId} does not exist yet`);
    const r = this.put('ensurePort', this.ports, spec.portId, spec);
    return { ...r, binding: { tap: this.names.tap(spec.portId), bridge: this.names.bridge(spec.networkId), mac: normMac(spec.mac), mtu: spec.mtu, netns: this.sandbox } };
  }

  async removePort(portId: string): Promise<EnsureResult> {
    return this.drop('removePort', this.ports, portId);
  }

  async ensureSecurityGroup(spec: SecurityGroupSpec): Promise<EnsureResult> {
    return this.put('ensureSecurityGroup', this.groups, spec.groupId, spec);
  }

  async removeSecurityGroup(groupId: string): Promise<EnsureResult> {
    return this.drop('removeSecurityGroup', this.groups, groupId);
  }

  async ensureRouter(spec: RouterSpec): Promise<EnsureResult> {
    for (const leg of [...spec.interfaces, ...(spec.gateway ? [spec.gateway] : [])]) {
      if (!this.networks.has(leg.networkId)) throw new Error(`bridge ${this.names.bridge(leg.networkId)} of network ${leg.networkId} does not exist yet`);
    }
    return this.put('ensureRouter', this.routers, spec.routerId, spec);
  }

  async removeRouter(routerId: string): Promise<EnsureResult> {
    return this.drop('removeRouter', this.routers, routerId);
  }

  async ensureDhcp(spec: DhcpSpec): Promise<EnsureResult> {
    if (!this.networks.has(spec.networkId)) throw new Error(`bridge ${this.names.bridge(spec.networkId)} of network ${spec.networkId} does not exist yet`);
    return this.put('ensureDhcp', this.dhcp, spec.networkId, spec);
  }

  async removeDhcp(networkId: string): Promise<EnsureResult> {
    return this.drop('removeDhcp', this.dhcp, networkId);
  }

  async inventory(): Promise<HostInventory> {
    const keys = (ids: Iterable<string>): string[] => [...ids].map((id) => this.names.key(id)).sort();
    const filtered = [...this.ports.values()].filter((p) => p.portSecurity).map((p) => p.portId);
    return {
      bridges: keys(this.networks.keys()),
      taps: keys([...this.ports.values()].filter((p) => p.plug === 'tap').map((p) => p.portId)),
      legs: keys([...[...this.routers.values()].flatMap((r) => [...r.interfaces, ...(r.gateway ? [r.gateway] : [])].map((l) => l.portId)), ...[...this.dhcp.values()].map((d) => d.port.portId)]),
      routers: [...this.routers.keys()].sort(),
      dhcp: [...this.dhcp.keys()].sort(),
      filteredPorts: keys(filtered),
      securityGroups: keys(this.groups.keys()),
    };
  }

  async refresh(): Promise<void> {
    this.calls.push({ op: 'refresh', id: '' });
  }

  async close(): Promise<void> {
    this.calls.push({ op: 'close', id: '' });
  }
}
