import { randomBytes } from 'node:crypto';
import type { HostExec } from '../../exec.js';
import type { AddressPair, SecurityGroupRuleSpec } from '../driver.js';
import { coverCidrs4, normMac } from '../addr.js';
import { Nft, type NftTableState } from './nft.js';
import {
  PORT_SECURITY_VERSION,
  SG_VERSION,
  groupChain,
  groupSet,
  hashLines,
  portChain,
  q,
  renderGroupChainRules,
  renderPortChainRules,
  renderPortSecurityTable,
  renderSgTable,
  rewriteChain,
} from './sg-render.js';

/**
 * The security group and port security tables of one host namespace,
 * changed by deltas. A mirror of both tables (loaded with one
 * `nft -j list table` each) is compared with what a call wants; the
 * difference goes to the kernel as one `nft -f -` transaction. Each call
 * first checks that each table's layout marker chain (named with a token
 * made when we created the table) is still there: a table deleted or
 * replaced behind our back reloads the mirror, and a failed
 * transaction reloads it and tries once more. So a steady-state change
 * costs a marker check plus one small transaction, whatever the number of
 * ports: no full rebuilds.
 */

/** What a port needs from the filtering tables. */
export interface PortFilter {
  /** Id key (names.ts) of the port. */
  key: string;
  ifname: string;
  mac: string;
  fixedIps: readonly string[];
  allowedAddressPairs: readonly AddressPair[];
  groupKeys: readonly string[];
}

interface Mirror {
  ps: NftTableState;
  sg: NftTableState;
}

const MAX_MARK = 0xffff;

const MAX_ZONE = 0xffff;

/** A delta: nft lines, and how the mirror changes once the kernel took them. */
interface Delta {
  lines: string[];
  commit(m: Mirror): void;
}

function smallestFree(used: Iterable<string>, max: number): number {
  const taken = new Set([...used].map(Number));
  for (let i = 1; i <= max; i++) if (!taken.has(i)) return i;
  throw new Error('no free mark/zone left in the filtering tables');
}

function elementsOf(state: NftTableState, set: string): Set<string> {
  let s = state.sets.get(set);
  if (!s) {
    s = new Set();
    state.sets.set(set, s);
  }
  return s;
}

function mapOf(state: NftTableState, map: string): Map<string, string> {
  let m = state.maps.get(map);
  if (!m) {
    m = new Map();
    state.maps.set(map, m);
  }
  return m;
}

export class SecurityTables {
  private readonly nft: Nft;
  private mirror: Mirror | null = null;
  /** When the mirror was last read or checked against the kernel (performance.now()). */
  private checkedAt = -Infinity;
  /** Calls run one at a time: two deltas computed from one mirror would hand out the same mark. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly ps: string;
  private readonly sg: string;

  /**
   * @param markerCheckTtlMs how long a marker check vouches for the
   * mirror (0: every call checks). With a TTL, a burst of calls (a
   * topology being made) pays for one check, not one per call; a table
   * removed behind our back within that time is found by the next
   * transaction that fails on it, or by the periodic resync's refresh().
   */
  constructor(exec: HostExec, netns: string | null, prefix: string, private readonly markerCheckTtlMs = 0) {
    this.nft = new Nft(exec, netns);
    this.ps = `${prefix}_ps`;
    this.sg = `${prefix}_sg`;
  }

  /** Forget the mirror: the next call reads the tables again. */
  invalidate(): void {
    this.mirror = null;
    this.checkedAt = -Infinity;
  }

  /** Makes both tables exist with the current layout; rebuilds one whose layout version differs. */
  ensureTables(): Promise<boolean> {
    return this.serial(async () => (await this.ready()).changed);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ready(): Promise<{ m: Mirror; changed: boolean }> {
    const m = await this.load();
    const lines: string[] = [];
    const token = randomBytes(4).toString('hex');
    if (m.ps.handle < 0 || !m.ps.comment?.startsWith(`${PORT_SECURITY_VERSION}_`)) {
      if (m.ps.handle >= 0) lines.push(`delete table bridge ${this.ps}`);
      lines.push(...renderPortSecurityTable(this.ps, token));
    }
    if (m.sg.handle < 0 || !m.sg.comment?.startsWith(`${SG_VERSION}_`)) {
      if (m.sg.handle >= 0) lines.push(`delete table inet ${this.sg}`);
      lines.push(...renderSgTable(this.sg, token));
    }
    if (lines.length === 0) return { m, changed: false };
    await this.nft.apply(lines);
    this.mirror = null;
    return { m: await this.load(), changed: true };
  }

  private async load(): Promise<Mirror> {
    const cur = this.mirror;
    if (cur?.ps.comment && cur.sg.comment) {
      if (performance.now() - this.checkedAt < this.markerCheckTtlMs) return cur;
      const [ps, sg] = await Promise.all([this.nft.hasChain('bridge', this.ps, cur.ps.comment), this.nft.hasChain('inet', this.sg, cur.sg.comment)]);
      if (ps && sg && this.mirror === cur) {
        this.checkedAt = performance.now();
        return cur;
      }
    }
    const empty = (): NftTableState => ({ handle: -1, comment: null, chains: new Map(), sets: new Map(), maps: new Map() });
    const [ps, sg] = await Promise.all([this.nft.readTable('bridge', this.ps), this.nft.readTable('inet', this.sg)]);
    this.mirror = { ps: ps ?? empty(), sg: sg ?? empty() };
    this.checkedAt = performance.now();
    return this.mirror;
  }

  /** Loads, makes the tables if needed, computes a delta, applies it; once more from a fresh read if the kernel refused. */
  private change(compute: (m: Mirror) => Delta): Promise<boolean> {
    return this.serial(() => this.changeNow(compute));
  }

  private async changeNow(compute: (m: Mirror) => Delta): Promise<boolean> {
    let { m, changed } = await this.ready();
    for (let attempt = 0; ; attempt++) {
      const delta = compute(m);
      try {
        const applied = await this.nft.apply(delta.lines);
        if (applied) delta.commit(m);
        return applied || changed;
      } catch (err) {
        this.mirror = null;
        if (attempt > 0) throw err;
        const again = await this.ready();
        m = again.m;
        changed = again.changed || changed;
      }
    }
  }

  /** Conntrack zone for a bridge, so equal addresses on two networks are different flows. */
  ensureZone(bridge: string): Promise<boolean> {
    return this.change((m) => {
      const zones = mapOf(m.sg, 'zone');
      if (zones.has(q(bridge))) return { lines: [], commit: () => undefined };
      const zone = String(smallestFree(zones.values(), MAX_ZONE));
      return {
        lines: [`add element inet ${this.sg} zone { ${q(bridge)} : ${zone} }`],
        commit: (mm) => mapOf(mm.sg, 'zone').set(q(bridge), zone),
      };
    });
  }

  removeZone(bridge: string): Promise<boolean> {
    return this.change((m) => {
      const zones = mapOf(m.sg, 'zone');
      if (!zones.has(q(bridge))) return { lines: [], commit: () => undefined };
      return {
        lines: [`delete element inet ${this.sg} zone { ${q(bridge)} }`],
        commit: (mm) => mapOf(mm.sg, 'zone').delete(q(bridge)),
      };
    });
  }

  /** Port security and security groups for one port (with port security on). */
  ensurePort(p: PortFilter): Promise<boolean> {
    return this.change((m) => this.portDelta(m, p));
  }

  private portDelta(m: Mirror, p: PortFilter): Delta {
    const lines: string[] = [];
    const ifq = q(p.ifname);
    const marks = mapOf(m.ps, 'port_mark');
    const mark = marks.get(ifq) ?? String(smallestFree(marks.values(), MAX_MARK));
    const mac = normMac(p.mac);

    // Which (MAC, address) pairs the port may send from.
    const byMac = new Map<string, string[]>([[mac, [...p.fixedIps]]]);
    for (const pair of p.allowedAddressPairs) {
      const pm = pair.macAddress ? normMac(pair.macAddress) : mac;
      byMac.set(pm, [...(byMac.get(pm) ?? []), pair.ipAddress]);
    }
    const wantMacs = new Set([...byMac.keys()].map((x) => `${ifq} . ${x}`));
    const wantIps = new Set<string>();
    for (const [x, ips] of byMac) for (const c of coverCidrs4(ips)) wantIps.add(`${ifq} . ${x} . ${c}`);

    const mine = (s: Set<string>): string[] => [...s].filter((e) => e.startsWith(`${ifq} . `));
    const haveMacs = mine(elementsOf(m.ps, 'mac_ok'));
    const haveIps = mine(elementsOf(m.ps, 'ip4_ok'));
    const delMacs = haveMacs.filter((e) => !wantMacs.has(e));
    const addMacs = [...wantMacs].filter((e) => !haveMacs.includes(e));
    const delIps = haveIps.filter((e) => !wantIps.has(e));
    const addIps = [...wantIps].filter((e) => !haveIps.includes(e));
    const el = (op: string, set: string, items: string[]): void => {
      if (items.length > 0) lines.push(`${op} element bridge ${this.ps} ${set} { ${items.join(', ')} }`);
    };
    // Deletes before adds: an interval set refuses a new element overlapping one still there.
    el('delete', 'ip4_ok', delIps);
    el('delete', 'mac_ok', delMacs);
    el('add', 'mac_ok', addMacs);
    el('add', 'ip4_ok', addIps);
    if (marks.get(ifq) !== mark) lines.push(`add element bridge ${this.ps} port_mark { ${ifq} : ${mark} }`);

    // Group chains must exist before a port chain jumps to them.
    const newGroupChains: string[] = [];
    for (const g of new Set(p.groupKeys)) {
      for (const dir of ['i', 'e'] as const) {
        const c = groupChain(g, dir);
        if (!m.sg.chains.has(c)) {
          lines.push(`add chain inet ${this.sg} ${c}`);
          newGroupChains.push(c);
        }
      }
    }
    const chainUpdates: [string, string, Set<string>][] = [];
    for (const dir of ['i', 'e'] as const) {
      const chain = portChain(p.key, dir);
      const rules = renderPortChainRules(dir, p.groupKeys);
      const hash = hashLines(rules);
      if (m.sg.chains.get(chain)?.hash !== hash) {
        lines.push(...rewriteChain('inet', this.sg, chain, rules, 'drop', hash));
        chainUpdates.push([chain, hash, new Set(p.groupKeys.map((g) => groupChain(g, dir)))]);
      }
      const vmap = dir === 'i' ? 'ingress' : 'egress';
      if (mapOf(m.sg, vmap).get(mark) !== `jump ${chain}`) {
        lines.push(`add element inet ${this.sg} ${vmap} { ${mark} : jump ${chain} }`);
      }
    }
    return {
      lines,
      commit: (mm) => {
        const macs = elementsOf(mm.ps, 'mac_ok');
        const ips = elementsOf(mm.ps, 'ip4_ok');
        for (const e of delMacs) macs.delete(e);
        for (const e of addMacs) macs.add(e);
        for (const e of delIps) ips.delete(e);
        for (const e of addIps) ips.add(e);
        mapOf(mm.ps, 'port_mark').set(ifq, mark);
        for (const c of newGroupChains) mm.sg.chains.set(c, { hash: null, refs: new Set(), base: false, rules: 0 });
        for (const [c, hash, refs] of chainUpdates) mm.sg.chains.set(c, { hash, refs, base: false, rules: refs.size + 2 });
        mapOf(mm.sg, 'ingress').set(mark, `jump ${portChain(p.key, 'i')}`);
        mapOf(mm.sg, 'egress').set(mark, `jump ${portChain(p.key, 'e')}`);
      },
    };
  }

  /** Removes every trace of a port (by its tap name and id key); also what a port with port security off needs. */
  removePort(key: string, ifname: string): Promise<boolean> {
    return this.change((m) => {
      const ifq = q(ifname);
      const lines: string[] = [];
      const mark = mapOf(m.ps, 'port_mark').get(ifq);
      const vmapDeletes: [string, string][] = [];
      for (const vmap of ['ingress', 'egress']) {
        for (const [k, v] of mapOf(m.sg, vmap)) {
          if (k === mark || v === `jump ${portChain(key, vmap === 'ingress' ? 'i' : 'e')}`) {
            lines.push(`delete element inet ${this.sg} ${vmap} { ${k} }`);
            vmapDeletes.push([vmap, k]);
          }
        }
      }
      const chains = [portChain(key, 'i'), portChain(key, 'e')].filter((c) => m.sg.chains.has(c));
      for (const c of chains) lines.push(`delete chain inet ${this.sg} ${c}`);
      const macs = [...elementsOf(m.ps, 'mac_ok')].filter((e) => e.startsWith(`${ifq} . `));
      const ips = [...elementsOf(m.ps, 'ip4_ok')].filter((e) => e.startsWith(`${ifq} . `));
      if (ips.length > 0) lines.push(`delete element bridge ${this.ps} ip4_ok { ${ips.join(', ')} }`);
      if (macs.length > 0) lines.push(`delete element bridge ${this.ps} mac_ok { ${macs.join(', ')} }`);
      if (mark !== undefined) lines.push(`delete element bridge ${this.ps} port_mark { ${ifq} }`);
      return {
        lines,
        commit: (mm) => {
          for (const [vmap, k] of vmapDeletes) mapOf(mm.sg, vmap).delete(k);
          for (const c of chains) mm.sg.chains.delete(c);
          for (const e of macs) elementsOf(mm.ps, 'mac_ok').delete(e);
          for (const e of ips) elementsOf(mm.ps, 'ip4_ok').delete(e);
          mapOf(mm.ps, 'port_mark').delete(ifq);
        },
      };
    });
  }

  /**
   * A group's two chains and its member set. Rules referring to other
   * groups make those groups' sets exist (empty until they are ensured).
   */
  ensureGroup(groupKey: string, rules: readonly SecurityGroupRuleSpec[], memberIps: readonly string[], keyOf: (groupId: string) => string): Promise<boolean> {
    return this.change((m) => {
      const lines: string[] = [];
      const setName = groupSet(groupKey);
      const referenced = new Set<string>([setName]);
      const setOf = (gid: string): string => {
        const s = groupSet(keyOf(gid));
        referenced.add(s);
        return s;
      };
      const chainRules = { i: renderGroupChainRules(rules, 'i', setOf), e: renderGroupChainRules(rules, 'e', setOf) };
      const newSets = [...referenced].filter((s) => !m.sg.sets.has(s));
      for (const s of newSets) lines.push(`add set inet ${this.sg} ${s} { type ipv4_addr; flags interval; }`);

      const want = new Set(coverCidrs4(memberIps));
      const have = m.sg.sets.get(setName) ?? new Set<string>();
      const del = [...have].filter((e) => !want.has(e));
      const add = [...want].filter((e) => !have.has(e));
      if (del.length > 0) lines.push(`delete element inet ${this.sg} ${setName} { ${del.join(', ')} }`);
      if (add.length > 0) lines.push(`add element inet ${this.sg} ${setName} { ${add.join(', ')} }`);

      const chainUpdates: [string, string, Set<string>][] = [];
      for (const dir of ['i', 'e'] as const) {
        const chain = groupChain(groupKey, dir);
        const hash = hashLines(chainRules[dir]);
        if (m.sg.chains.get(chain)?.hash !== hash) {
          lines.push(...rewriteChain('inet', this.sg, chain, chainRules[dir], 'return', hash));
          const refs = new Set(chainRules[dir].flatMap((r) => [...r.matchAll(/@(\S+)/g)].map((x) => x[1] ?? '')));
          chainUpdates.push([chain, hash, refs]);
        }
      }
      return {
        lines,
        commit: (mm) => {
          for (const s of newSets) mm.sg.sets.set(s, new Set());
          const set = elementsOf(mm.sg, setName);
          for (const e of del) set.delete(e);
          for (const e of add) set.add(e);
          for (const [c, hash, refs] of chainUpdates) mm.sg.chains.set(c, { hash, refs, base: false, rules: 1 });
        },
      };
    });
  }

  /**
   * Removes a group's chains and set. Whatever another chain still refers
   * to (a port not yet updated, a group's remote_group rule) is emptied
   * instead, and goes when the last reference does (see sweep()).
   */
  removeGroup(groupKey: string): Promise<boolean> {
    return this.change((m) => {
      const lines: string[] = [];
      const refCount = (name: string): number => [...m.sg.chains.entries()].filter(([c, v]) => !c.startsWith(`g_${groupKey}_`) && v.refs.has(name)).length;
      const gone: string[] = [];
      const emptied: string[] = [];
      for (const dir of ['i', 'e'] as const) {
        const c = groupChain(groupKey, dir);
        const cur = m.sg.chains.get(c);
        if (!cur) continue;
        if (refCount(c) === 0) {
          lines.push(`delete chain inet ${this.sg} ${c}`);
          gone.push(c);
        } else if (cur.rules > 0) {
          lines.push(`flush chain inet ${this.sg} ${c}`);
          emptied.push(c);
        }
      }
      const s = groupSet(groupKey);
      const set = m.sg.sets.get(s);
      let setGone = false;
      let setEmptied = false;
      if (set) {
        // The group's own chains are going (or emptied), so their references do not count.
        if (refCount(s) === 0) {
          lines.push(`delete set inet ${this.sg} ${s}`);
          setGone = true;
        } else if (set.size > 0) {
          lines.push(`flush set inet ${this.sg} ${s}`);
          setEmptied = true;
        }
      }
      return {
        lines,
        commit: (mm) => {
          for (const c of gone) mm.sg.chains.delete(c);
          for (const c of emptied) mm.sg.chains.set(c, { hash: null, refs: new Set(), base: false, rules: 0 });
          if (setGone) mm.sg.sets.delete(s);
          if (setEmptied) mm.sg.sets.set(s, new Set());
        },
      };
    });
  }

  /** Id keys of ports and groups that have state in the tables. */
  inventory(): Promise<{ ports: string[]; groups: string[] }> {
    return this.serial(() => this.inventoryNow());
  }

  private async inventoryNow(): Promise<{ ports: string[]; groups: string[] }> {
    const m = await this.load();
    const ports = new Set<string>();
    const groups = new Set<string>();
    for (const c of m.sg.chains.keys()) {
      const pm = /^p_([0-9a-f]+)_[ie]$/.exec(c);
      if (pm?.[1]) ports.add(pm[1]);
      const gm = /^g_([0-9a-f]+)_[ie]$/.exec(c);
      if (gm?.[1]) groups.add(gm[1]);
    }
    for (const s of m.sg.sets.keys()) {
      const gm = /^g_([0-9a-f]+)_v4$/.exec(s);
      if (gm?.[1]) groups.add(gm[1]);
    }
    return { ports: [...ports].sort(), groups: [...groups].sort() };
  }

  /** Both tables gone (host teardown). */
  removeTables(): Promise<boolean> {
    return this.serial(() => this.removeTablesNow());
  }

  private async removeTablesNow(): Promise<boolean> {
    const a = await this.nft.deleteTable('bridge', this.ps);
    const b = await this.nft.deleteTable('inet', this.sg);
    this.mirror = null;
    return a || b;
  }
}
