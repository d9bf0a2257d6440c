import { isNotFound, type HostExec } from '../../exec.js';

/**
 * nftables through the `nft` binary: transactions as `nft -f -` (one
 * atomic batch), state read back as `nft -j list table`, parsed into plain
 * maps that our renderers can be compared with.
 */

const NFT = '/usr/sbin/nft';

export type NftFamily = 'ip' | 'inet' | 'bridge';

/** One table as read back: its handle, chains (with the hash comment of their last rule), sets and maps. */
export interface NftTableState {
  handle: number;
  /** Name of the table's layout marker chain (c_layout_*), if any. */
  comment: string | null;
  chains: Map<string, { hash: string | null; refs: Set<string>; base: boolean; rules: number }>;
  /** Set name → its elements, rendered the way we render them. */
  sets: Map<string, Set<string>>;
  /** Map name → key → value, rendered the way we render them. */
  maps: Map<string, Map<string, string>>;
}

export class Nft {
  constructor(
    private readonly exec: HostExec,
    readonly netns: string | null,
  ) {}

  /** Applies a batch atomically; nothing at all when it is empty. */
  async apply(lines: readonly string[]): Promise<boolean> {
    if (lines.length === 0) return false;
    await this.exec.run([NFT, '-f', '-'], { netns: this.netns, stdin: `${lines.join('\n')}\n` });
    return true;
  }

  /**
   * Whether a chain exists. Cheap (nft reads only that chain), unlike
   * `list tables`, which makes nft 1.0.6 read every rule.
   */
  async hasChain(family: NftFamily, table: string, chain: string): Promise<boolean> {
    try {
      await this.exec.run([NFT, 'list', 'chain', family, table, chain], { netns: this.netns, readOnly: true });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** The table's state, or null when it does not exist. */
  async readTable(family: NftFamily, name: string): Promise<NftTableState | null> {
    let stdout: string;
    try {
      ({ stdout } = await this.exec.run([NFT, '-j', 'list', 'table', family, name], { netns: this.netns, readOnly: true }));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    return parseTable(stdout);
  }

  /** The whole ruleset as JSON text (for tests comparing before/after). */
  async listRuleset(): Promise<string> {
    const { stdout } = await this.exec.run([NFT, '-j', 'list', 'ruleset'], { netns: this.netns, readOnly: true });
    return stdout;
  }

  /** Deletes a table; true when it was there. */
  async deleteTable(family: NftFamily, name: string): Promise<boolean> {
    try {
      await this.exec.run([NFT, 'delete', 'table', family, name], { netns: this.netns });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

function nftItems(json: string): Record<string, unknown>[] {
  const text = json.trim();
  if (text === '') return [];
  const doc = JSON.parse(text) as { nftables?: Record<string, unknown>[] };
  return doc.nftables ?? [];
}

/** Renders one JSON element value the way our renderers print it. */
export function renderJsonValue(v: unknown): string {
  if (typeof v === 'string') return /^[a-z0-9-]+$/.test(v) && !/^[0-9a-f]{2}(:[0-9a-f]{2})+$/.test(v) && !/^\d+(\.\d+){3}$/.test(v) && !/^\d+$/.test(v) ? `"${v}"` : v;
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o['concat'])) return (o['concat'] as unknown[]).map(renderJsonValue).join(' . ');
    const prefix = o['prefix'] as { addr: string; len: number } | undefined;
    if (prefix) return `${prefix.addr}/${prefix.len}`;
    const range = o['range'] as [unknown, unknown] | undefined;
    if (range) return `${renderJsonValue(range[0])}-${renderJsonValue(range[1])}`;
    const jump = o['jump'] as { target: string } | undefined;
    if (jump) return `jump ${jump.target}`;
    const gotoV = o['goto'] as { target: string } | undefined;
    if (gotoV) return `goto ${gotoV.target}`;
    if ('elem' in o) return renderJsonValue((o['elem'] as { val: unknown }).val);
    if ('accept' in o) return 'accept';
    if ('drop' in o) return 'drop';
  }
  return JSON.stringify(v);
}

function collectRefs(v: unknown, into: Set<string>): void {
  if (typeof v === 'string') {
    if (v.startsWith('@')) into.add(v.slice(1));
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) collectRefs(x, into);
    return;
  }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'jump' || k === 'goto') && x && typeof x === 'object' && 'target' in x) into.add(String((x as { target: unknown }).target));
      else collectRefs(x, into);
    }
  }
}

/** Parses `nft -j list table` output. */
export function parseTable(json: string): NftTableState {
  const state: NftTableState = { handle: -1, comment: null, chains: new Map(), sets: new Map(), maps: new Map() };
  const lastComment = new Map<string, string | null>();
  for (const item of nftItems(json)) {
    const table = item['table'] as { handle: number } | undefined;
    if (table) state.handle = table.handle;
    const chain = item['chain'] as { name: string; hook?: string } | undefined;
    if (chain) {
      state.chains.set(chain.name, { hash: null, refs: new Set(), base: chain.hook !== undefined, rules: 0 });
      if (chain.name.startsWith('c_layout_')) state.comment = chain.name;
    }
    const set = item['set'] as { name: string; elem?: unknown[] } | undefined;
    if (set) state.sets.set(set.name, new Set((set.elem ?? []).map(renderJsonValue)));
    const map = item['map'] as { name: string; elem?: unknown[] } | undefined;
    if (map) {
      const m = new Map<string, string>();
      for (const e of map.elem ?? []) {
        if (Array.isArray(e) && e.length === 2) m.set(renderJsonValue(e[0]), renderJsonValue(e[1]));
      }
      state.maps.set(map.name, m);
    }
    const rule = item['rule'] as { chain: string; expr?: unknown[]; comment?: string } | undefined;
    if (rule) {
      const c = state.chains.get(rule.chain);
      if (c) {
        c.rules += 1;
        collectRefs(rule.expr ?? [], c.refs);
        lastComment.set(rule.chain, rule.comment ?? null);
      }
    }
  }
  for (const [name, comment] of lastComment) {
    const c = state.chains.get(name);
    if (c && comment?.startsWith('h:')) c.hash = comment.slice(2);
  }
  return state;
}
