import type { FloatingIp, Network, Port, Router, Server, Subnet } from '../api/types';

export type NodeKind = 'external' | 'router' | 'network' | 'instance';

export interface TopoNode {
  id: string;
  kind: NodeKind;
  label: string;
  detail: string[];
  status?: string;
  x: number;
  y: number;
}

export interface TopoEdge {
  from: string;
  to: string;
  label: string;
}

export interface Topology {
  nodes: TopoNode[];
  edges: TopoEdge[];
  width: number;
  height: number;
}

export const NODE_W = 170;
export const NODE_H = 58;
const COL_GAP = 90;
const ROW_GAP = 26;
const PAD = 20;

export interface TopologyInput {
  networks: Network[];
  subnets: Subnet[];
  routers: Router[];
  ports: Port[];
  servers: Server[];
  floatingIps: FloatingIp[];
}

/**
 * The project's network as a graph, laid out in four columns as a packet
 * travels inward: external networks, routers, tenant networks, instances.
 * Edges are the real attachments: a router's gateway (its
 * external_gateway_info), router interfaces and instance ports.
 */
export function buildTopology(input: TopologyInput): Topology {
  const cidrs = (net: Network) => input.subnets.filter((s) => s.network_id === net.id).map((s) => s.cidr);
  const columns: TopoNode[][] = [[], [], [], []];
  const seen = new Set<string>();
  const add = (col: number, n: Omit<TopoNode, 'x' | 'y'>) => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    columns[col]?.push({ ...n, x: 0, y: 0 });
  };

  for (const net of input.networks) {
    const external = net['router:external'];
    add(external ? 0 : 2, { id: net.id, kind: external ? 'external' : 'network', label: net.name || net.id.slice(0, 8), detail: cidrs(net), status: net.status });
  }
  const edges: TopoEdge[] = [];
  for (const r of input.routers) {
    add(1, { id: r.id, kind: 'router', label: r.name || r.id.slice(0, 8), detail: [r.external_gateway_info ? 'gateway set' : 'no gateway'], status: r.status });
    const gw = r.external_gateway_info;
    if (gw && seen.has(gw.network_id)) {
      edges.push({ from: gw.network_id, to: r.id, label: (gw.external_fixed_ips ?? []).map((f) => f.ip_address).join(', ') });
    }
  }
  for (const p of input.ports) {
    if (p.device_owner === 'network:router_interface' || p.device_owner === 'network:router_interface_distributed') {
      if (seen.has(p.device_id) && seen.has(p.network_id)) {
        edges.push({ from: p.device_id, to: p.network_id, label: p.fixed_ips.map((f) => f.ip_address).join(', ') });
      }
    }
  }
  for (const s of input.servers) {
    const floating = Object.values(s.addresses ?? {})
      .flat()
      .filter((a) => a['OS-EXT-IPS:type'] === 'floating')
      .map((a) => a.addr);
    const fipsOfPorts = input.floatingIps
      .filter((f) => f.port_id && input.ports.some((p) => p.id === f.port_id && p.device_id === s.id))
      .map((f) => f.floating_ip_address);
    const allFloating = [...new Set([...floating, ...fipsOfPorts])];
    add(3, { id: s.id, kind: 'instance', label: s.name, detail: allFloating.length ? [`floating ${allFloating.join(', ')}`] : [], status: s.status });
    for (const p of input.ports.filter((x) => x.device_id === s.id)) {
      if (seen.has(p.network_id)) edges.push({ from: p.network_id, to: s.id, label: p.fixed_ips.map((f) => f.ip_address).join(', ') });
    }
  }

  let height = 0;
  columns.forEach((col, i) => {
    col.sort((a, b) => a.label.localeCompare(b.label));
    col.forEach((n, j) => {
      n.x = PAD + i * (NODE_W + COL_GAP);
      n.y = PAD + j * (NODE_H + ROW_GAP);
    });
    height = Math.max(height, PAD * 2 + col.length * (NODE_H + ROW_GAP));
  });
  return { nodes: columns.flat(), edges, width: PAD * 2 + 4 * NODE_W + 3 * COL_GAP, height: Math.max(height, 160) };
}
