import { useState } from 'react';
import { useApi } from '../api/session';
import { useFloatingIps, useNetworks, usePorts, useRouters, useServers, useSubnets } from '../api/queries';
import { buildTopology, NODE_H, NODE_W, type TopoNode } from '../lib/topology';
import { Empty, ErrorText, Loading } from '../ui/feedback';
import { Link, useTitle } from '../router';

const KIND_LABEL: Record<TopoNode['kind'], string> = { external: 'External network', router: 'Router', network: 'Network', instance: 'Instance' };

/** public → router → private → instances, drawn from the real resources; each node can be selected. */
export function Topology() {
  useTitle('Network topology');
  const api = useApi();
  const networks = useNetworks();
  const subnets = useSubnets();
  const routers = useRouters();
  const ports = usePorts();
  const servers = useServers();
  const fips = useFloatingIps();
  const [selected, setSelected] = useState<string | undefined>(undefined);

  if (!api.has('network')) {
    return (
      <section>
        <h1>Network topology</h1>
        <p>This cloud has no network service in its catalog yet.</p>
      </section>
    );
  }
  const loading = [networks, subnets, routers, ports].find((q) => q.isPending);
  const failed = [networks, subnets, routers, ports, servers, fips].find((q) => q.error);
  if (loading) return <Loading what="the topology" />;
  if (failed) return <ErrorText error={failed.error} />;

  const topo = buildTopology({
    networks: networks.data ?? [],
    subnets: subnets.data ?? [],
    routers: routers.data ?? [],
    ports: ports.data ?? [],
    servers: servers.data ?? [],
    floatingIps: fips.data ?? [],
  });
  const byId = new Map(topo.nodes.map((n) => [n.id, n]));
  const sel = selected ? byId.get(selected) : undefined;
  const linked = new Set(topo.edges.filter((e) => e.from === selected || e.to === selected).flatMap((e) => [e.from, e.to]));

  return (
    <section>
      <h1>Network topology</h1>
      {topo.nodes.length === 0 ? (
        <Empty title="No networks yet.">
          <p>
            Create a network with a subnet on the <Link to="/networks">Networks</Link> page, and a router to the external network.
          </p>
        </Empty>
      ) : (
        <div className="topology">
          <svg
            viewBox={`0 0 ${topo.width} ${topo.height}`}
            style={{ maxWidth: topo.width }}
            role="group"
            aria-label="Network topology: external networks, routers, networks and instances, with their connections"
            className="topo-svg"
          >
            {topo.edges.map((e) => {
              const a = byId.get(e.from);
              const b = byId.get(e.to);
              if (!a || !b) return null;
              const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
              const hot = selected !== undefined && (e.from === selected || e.to === selected);
              return (
                <g key={`${e.from}-${e.to}-${e.label}`} className={hot ? 'edge edge-hot' : 'edge'} data-edge={`${a.label}--${b.label}`}>
                  <path d={`M${x1},${y1} C${x1 + 45},${y1} ${x2 - 45},${y2} ${x2},${y2}`} />
                  {e.label ? (
                    <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 6} textAnchor="middle" className="edge-label">
                      {e.label}
                    </text>
                  ) : null}
                </g>
              );
            })}
            {topo.nodes.map((n) => (
              <g
                key={n.id}
                className={`node node-${n.kind}${n.id === selected ? ' node-selected' : ''}${linked.has(n.id) && n.id !== selected ? ' node-linked' : ''}`}
                transform={`translate(${n.x},${n.y})`}
                role="button"
                tabIndex={0}
                aria-pressed={n.id === selected}
                aria-label={`${KIND_LABEL[n.kind]} ${n.label}${n.detail.length ? `, ${n.detail.join(', ')}` : ''}`}
                data-node={n.label}
                onClick={() => setSelected(n.id === selected ? undefined : n.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    setSelected(n.id === selected ? undefined : n.id);
                  }
                }}
              >
                <rect width={NODE_W} height={NODE_H} rx={n.kind === 'router' ? 28 : 8} />
                <text x={12} y={22} className="node-kind">
                  {KIND_LABEL[n.kind]}
                </text>
                <text x={12} y={40} className="node-label">
                  {n.label.length > 20 ? `${n.label.slice(0, 19)}…` : n.label}
                </text>
                {n.detail[0] ? (
                  <text x={12} y={53} className="node-detail">
                    {n.detail[0]}
                  </text>
                ) : null}
              </g>
            ))}
          </svg>
          <aside className="topo-side" aria-live="polite">
            {sel ? (
              <>
                <h2>
                  {KIND_LABEL[sel.kind]} {sel.label}
                </h2>
                <dl className="facts">
                  <dt>ID</dt>
                  <dd>
                    <code>{sel.id}</code>
                  </dd>
                  {sel.status ? (
                    <>
                      <dt>Status</dt>
                      <dd>{sel.status}</dd>
                    </>
                  ) : null}
                  {sel.detail.length ? (
                    <>
                      <dt>Details</dt>
                      <dd>{sel.detail.join(', ')}</dd>
                    </>
                  ) : null}
                  <dt>Connected to</dt>
                  <dd>
                    {topo.edges
                      .filter((e) => e.from === sel.id || e.to === sel.id)
                      .map((e) => byId.get(e.from === sel.id ? e.to : e.from)?.label)
                      .join(', ') || 'nothing'}
                  </dd>
                </dl>
                {sel.kind === 'instance' ? <Link to={`/instances/${sel.id}`}>Open instance {sel.label}</Link> : <Link to="/networks">Open networks</Link>}
              </>
            ) : (
              <p className="muted">Select a node to see what it is connected to.</p>
            )}
          </aside>
        </div>
      )}
    </section>
  );
}
