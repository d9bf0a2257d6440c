import type { FastifyInstance, FastifyRequest } from 'fastify';
import { atLeast } from '../../core/compute/microversion.js';
import type { SecurityGroupInfo } from '../../core/compute/neighbours.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { notFound } from '../../core/errors.js';
import { requireProjectRole } from '../../core/policy.js';
import { mvOf, qOne, type Query } from './common.js';

/**
 * Nova's read-only proxies to Neutron's security groups, which Nova removed
 * at 2.36 but which clients at 2.1 still use: `openstack server add
 * security group` finds the group through GET /os-security-groups.
 */

function ruleView(g: SecurityGroupInfo, r: SecurityGroupInfo['rules'][number], names: Map<string, string>) {
  return {
    id: r.id,
    parent_group_id: g.id,
    ip_protocol: r.protocol,
    from_port: r.portMin ?? -1,
    to_port: r.portMax ?? -1,
    group: r.remoteGroupId ? { name: names.get(r.remoteGroupId) ?? r.remoteGroupId, tenant_id: g.projectId } : {},
    ip_range: r.remoteIpPrefix ? { cidr: r.remoteIpPrefix } : {},
  };
}

function groupView(g: SecurityGroupInfo, names: Map<string, string>) {
  return { id: g.id, name: g.name, description: g.description, tenant_id: g.projectId, rules: g.rules.map((r) => ruleView(g, r, names)) };
}

export function registerProxyRoutes(app: FastifyInstance, core: ComputeCore): void {
  const removed = (req: FastifyRequest) => {
    if (atLeast(mvOf(req), 36)) throw notFound('The os-security-groups proxy was removed in microversion 2.36: use the network API (openstack security group list).');
  };
  const groupsOf = async (projectId: string) => {
    const groups = await core.net().listSecurityGroups(projectId);
    return { groups, names: new Map(groups.map((g) => [g.id, g.name])) };
  };

  app.get<{ Querystring: Query }>('/v2.1/os-security-groups', async (req) => {
    removed(req);
    const auth = requireProjectRole(req.auth, 'read');
    const { groups, names } = await groupsOf(auth.projectId);
    const name = qOne(req.query, 'name');
    return { security_groups: groups.filter((g) => name === undefined || g.name === name).map((g) => groupView(g, names)) };
  });

  app.get<{ Params: { id: string } }>('/v2.1/os-security-groups/:id', async (req) => {
    removed(req);
    const auth = requireProjectRole(req.auth, 'read');
    const { groups, names } = await groupsOf(auth.projectId);
    const g = groups.find((x) => x.id === req.params.id);
    if (!g) throw notFound(`Security group ${req.params.id} not found.`);
    return { security_group: groupView(g, names) };
  });

  app.get<{ Params: { id: string } }>('/v2.1/servers/:id/os-security-groups', async (req) => {
    removed(req);
    const auth = requireProjectRole(req.auth, 'read');
    const s = await core.visibleServer(auth, req.params.id);
    const ports = (await core.instances.portsOf([s.id])).get(s.id) ?? [];
    const infos = await core.net().portsById(ports.map((p) => p.port_id));
    const ids = new Set([...infos.values()].flatMap((p) => p.securityGroupIds));
    const { groups, names } = await groupsOf(s.project_id);
    return { security_groups: groups.filter((g) => ids.has(g.id)).map((g) => groupView(g, names)) };
  });
}
