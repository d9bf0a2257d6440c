import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { member, reader } from '../../core/network/access.js';
import type { NetCore } from '../../core/network/core.js';
import {
  createRule,
  createSecurityGroup,
  deleteRule,
  deleteSecurityGroup,
  getRule,
  getSecurityGroup,
  listRules,
  listSecurityGroups,
  updateRuleDescription,
  updateSecurityGroup,
} from '../../core/network/secgroups.js';
import { checkTags } from '../../core/network/tags.js';
import { ifMatchRevision, intOrNull, listBody, showBody } from './common.js';
import { stripUndefined } from './networks.routes.js';
import { sqlFilter, type Query } from './query.js';
import { IdParam, RuleCreate, RuleUpdate, SecurityGroupCreate, SecurityGroupUpdate } from './schemas.js';
import { ruleView, securityGroupView } from './views.js';
import { invalidAttr } from '../../core/network/errors.js';

type Id = Static<typeof IdParam>;

/** Neutron takes the ethertype in any case. */
function ethertypeOf(v: string | undefined): 'IPv4' | 'IPv6' | undefined {
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (l === 'ipv4') return 'IPv4';
  if (l === 'ipv6') return 'IPv6';
  throw invalidAttr('ethertype', `'${v}' is not in ['IPv4', 'IPv6']`);
}

export function registerSecurityGroupRoutes(app: FastifyInstance, core: NetCore, base: string): void {
  app.get<{ Querystring: Query }>('/v2.0/security-groups', async (req) => {
    const c = reader(req.auth);
    const models = await listSecurityGroups(core, c, stripUndefined({ ids: sqlFilter(req.query, 'id'), names: sqlFilter(req.query, 'name') }));
    return listBody('security_groups', models.map(securityGroupView), req.query, `${base}/v2.0/security-groups`);
  });

  app.get<{ Params: Id; Querystring: Query }>('/v2.0/security-groups/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('security_group', securityGroupView(await getSecurityGroup(core, c, req.params.id)), req.query);
  });

  app.post<{ Body: Static<typeof SecurityGroupCreate> }>('/v2.0/security-groups', { schema: { body: SecurityGroupCreate } }, async (req, reply) => {
    const c = member(req.auth);
    const b = req.body.security_group;
    if (b.tags) b.tags = checkTags(b.tags);
    return reply.code(201).send({ security_group: securityGroupView(await createSecurityGroup(core, c, b)) });
  });

  app.put<{ Params: Id; Body: Static<typeof SecurityGroupUpdate> }>(
    '/v2.0/security-groups/:id',
    { schema: { params: IdParam, body: SecurityGroupUpdate } },
    async (req) => {
      const c = member(req.auth);
      return { security_group: securityGroupView(await updateSecurityGroup(core, c, req.params.id, req.body.security_group, ifMatchRevision(req))) };
    },
  );

  app.delete<{ Params: Id }>('/v2.0/security-groups/:id', { schema: { params: IdParam } }, async (req, reply) => {
    await deleteSecurityGroup(core, member(req.auth), req.params.id, ifMatchRevision(req));
    return reply.code(204).send();
  });

  // --- rules
  app.get<{ Querystring: Query }>('/v2.0/security-group-rules', async (req) => {
    const c = reader(req.auth);
    const rules = await listRules(core, c, stripUndefined({ ids: sqlFilter(req.query, 'id'), groupIds: sqlFilter(req.query, 'security_group_id') }));
    return listBody('security_group_rules', rules.map(ruleView), req.query, `${base}/v2.0/security-group-rules`);
  });

  app.get<{ Params: Id; Querystring: Query }>('/v2.0/security-group-rules/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('security_group_rule', ruleView(await getRule(core, c, req.params.id)), req.query);
  });

  app.post<{ Body: Static<typeof RuleCreate> }>('/v2.0/security-group-rules', { schema: { body: RuleCreate } }, async (req, reply) => {
    const c = member(req.auth);
    const b = req.body.security_group_rule;
    const rule = await createRule(core, c, {
      ...b,
      ethertype: ethertypeOf(b.ethertype),
      port_range_min: intOrNull('port_range_min', b.port_range_min),
      port_range_max: intOrNull('port_range_max', b.port_range_max),
    });
    return reply.code(201).send({ security_group_rule: ruleView(rule) });
  });

  app.put<{ Params: Id; Body: Static<typeof RuleUpdate> }>(
    '/v2.0/security-group-rules/:id',
    { schema: { params: IdParam, body: RuleUpdate } },
    async (req) => {
      const c = member(req.auth);
      return { security_group_rule: ruleView(await updateRuleDescription(core, c, req.params.id, req.body.security_group_rule.description)) };
    },
  );

  app.delete<{ Params: Id }>('/v2.0/security-group-rules/:id', { schema: { params: IdParam } }, async (req, reply) => {
    await deleteRule(core, member(req.auth), req.params.id);
    return reply.code(204).send();
  });
}
