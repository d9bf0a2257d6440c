import { cidrContains, ipv4, probeText, ruleCreateArgs, ruleMatchesProbe, ruleMatchesRemote } from './match.js';
import type { ExplainStep, ExplainWorld, Explanation, Probe, XEndpoint, XPort, XRouter, XSecurityGroup, XSubnet } from './model.js';

/**
 * "Why can't I reach it?": walks the path a packet takes to an instance, in
 * the order the data plane applies it, and stops at the first thing that
 * blocks, saying how to fix it with the `openstack` CLI.
 *
 * From the host: instance state → its port → a floating IP → a router with
 * a gateway on that floating IP's external network and an interface on the
 * port's subnet → the port's security groups, for a packet whose source is
 * the host's address on the external network (its subnet's gateway IP).
 * From another instance: both states and ports → the same network, or one
 * router joining both subnets → the source's egress rules → the target's
 * ingress rules (remote groups match on the source port's groups).
 */
export function explain(world: ExplainWorld, probe: Probe): Explanation {
  const steps: ExplainStep[] = [];
  const pass = (check: string, detail: string) => {
    steps.push({ check, ok: true, detail });
  };
  const block = (check: string, detail: string, message: string, fix: string): Explanation => {
    steps.push({ check, ok: false, detail });
    return { reachable: false, steps, blocker: { message, fix } };
  };
  const name = (x: { id: string; name: string }) => (x.name ? x.name : x.id);
  const networkOf = (id: string) => world.networks.find((n) => n.id === id);
  const groupOf = (id: string) => world.securityGroups.find((g) => g.id === id);
  const externals = world.networks.filter((n) => n.external);
  const extName = externals[0] ? name(externals[0]) : 'public';

  const target = world.target;
  const tName = name(target.server);

  const state = checkState(target, 'instance state');
  if (state) return block(...state);
  pass('instance state', `${tName} is ACTIVE`);

  const tp = firstIpv4(target, world.subnets);
  if (!tp) {
    const net = world.networks.find((n) => !n.external);
    return block(
      'instance port',
      `${tName} has no IPv4 address on any network`,
      `instance ${tName} has no IPv4 address: it is on no network`,
      `openstack server add network ${tName} ${net ? name(net) : 'NETWORK'}`,
    );
  }
  if (!tp.port.adminStateUp) {
    return block('instance port', `port ${tp.port.id} is administratively down`, `the port of ${tName} is disabled`, `openstack port set --enable ${tp.port.id}`);
  }
  const tSubnetName = tp.subnet ? name(tp.subnet) : tp.ip;
  pass('instance port', `${tName} has ${tp.ip} on ${tp.subnet ? `subnet ${name(tp.subnet)}` : 'its network'}`);

  let sourceIp: string | undefined;
  let sourceGroups: string[] = [];
  let sourceGroupName: string | undefined;

  if (world.source === 'host') {
    const portIds = new Set(target.ports.map((p) => p.id));
    const fip = world.floatingIps.find((f) => f.portId !== null && portIds.has(f.portId));
    if (!fip) {
      const free = world.floatingIps.find((f) => f.portId === null);
      return block(
        'floating IP',
        `no floating IP is associated with ${tName}`,
        `instance ${tName} has no floating IP: the host reaches instances only through one`,
        free
          ? `openstack server add floating ip ${tName} ${free.address}`
          : `openstack floating ip create ${extName}   # then: openstack server add floating ip ${tName} <the new address>`,
      );
    }
    pass('floating IP', `${fip.address} is associated with ${fip.fixedIp ?? tp.ip}`);

    const ext = networkOf(fip.networkId);
    const extLabel = ext ? name(ext) : fip.networkId;
    const onSubnet = (r: XRouter) => tp.subnet !== undefined && r.interfaceSubnetIds.includes(tp.subnet.id);
    const gwOnExt = (r: XRouter) => r.gatewayNetworkId === fip.networkId;
    const router = world.routers.find((r) => onSubnet(r) && gwOnExt(r));
    if (!router) {
      const withLeg = world.routers.find(onSubnet);
      if (withLeg) {
        return block(
          'router',
          `router ${name(withLeg)} has an interface on ${tSubnetName} but no gateway on ${extLabel}`,
          `router ${name(withLeg)} is not connected to ${extLabel}`,
          `openstack router set --external-gateway ${extLabel} ${name(withLeg)}`,
        );
      }
      const withGw = world.routers.find(gwOnExt);
      if (withGw) {
        return block(
          'router',
          `router ${name(withGw)} has a gateway on ${extLabel} but no interface on ${tSubnetName}`,
          `no router joins subnet ${tSubnetName} to ${extLabel}`,
          `openstack router add subnet ${name(withGw)} ${tSubnetName}`,
        );
      }
      return block(
        'router',
        `no router has an interface on ${tSubnetName} and a gateway on ${extLabel}`,
        `no router joins subnet ${tSubnetName} to ${extLabel}`,
        `openstack router create router1 && openstack router set --external-gateway ${extLabel} router1 && openstack router add subnet router1 ${tSubnetName}`,
      );
    }
    if (!router.adminStateUp) {
      return block('router', `router ${name(router)} is administratively down`, `router ${name(router)} is disabled`, `openstack router set --enable ${name(router)}`);
    }
    pass('router', `router ${name(router)} joins ${extLabel} and ${tSubnetName}`);

    const extSubnet = world.subnets.find((s) => s.networkId === fip.networkId && cidrContains(s.cidr, fip.address)) ?? world.subnets.find((s) => s.networkId === fip.networkId);
    sourceIp = extSubnet?.gatewayIp ?? undefined;
    pass(
      'source address',
      sourceIp
        ? `the host reaches ${extLabel} as ${sourceIp} (the gateway of subnet ${name(extSubnet ?? { id: '', name: '' })})`
        : `subnet of ${extLabel} has no gateway IP: the host's address there is unknown`,
    );
  } else {
    const source = world.source;
    const sName = name(source.server);
    const sState = checkState(source, 'source state');
    if (sState) return block(...sState);
    pass('source state', `${sName} is ACTIVE`);
    const sp = firstIpv4(source, world.subnets);
    if (!sp) {
      return block('source port', `${sName} has no IPv4 address`, `instance ${sName} is on no network`, `openstack server add network ${sName} ${tp.subnet ? (networkOf(tp.subnet.networkId)?.name ?? 'NETWORK') : 'NETWORK'}`);
    }
    pass('source port', `${sName} has ${sp.ip}`);

    if (sp.port.networkId === tp.port.networkId) {
      const net = networkOf(tp.port.networkId);
      pass('path', `both are on network ${net ? name(net) : tp.port.networkId}`);
    } else {
      const a = sp.subnet;
      const b = tp.subnet;
      const both = world.routers.find((r) => a !== undefined && b !== undefined && r.interfaceSubnetIds.includes(a.id) && r.interfaceSubnetIds.includes(b.id));
      const aName = a ? name(a) : sp.ip;
      if (!both) {
        const half = world.routers.find((r) => a !== undefined && r.interfaceSubnetIds.includes(a.id)) ?? world.routers.find((r) => b !== undefined && r.interfaceSubnetIds.includes(b.id));
        const missing = half && a && half.interfaceSubnetIds.includes(a.id) ? tSubnetName : aName;
        return block(
          'path',
          `${sName} and ${tName} are on different networks and no router joins ${aName} and ${tSubnetName}`,
          `no router joins subnet ${aName} and subnet ${tSubnetName}`,
          half ? `openstack router add subnet ${name(half)} ${missing}` : `openstack router create r && openstack router add subnet r ${aName} && openstack router add subnet r ${tSubnetName}`,
        );
      }
      if (!both.adminStateUp) {
        return block('path', `router ${name(both)} is administratively down`, `router ${name(both)} is disabled`, `openstack router set --enable ${name(both)}`);
      }
      pass('path', `router ${name(both)} joins ${aName} and ${tSubnetName}`);
    }
    sourceIp = sp.ip;
    sourceGroups = sp.port.portSecurityEnabled ? sp.port.securityGroupIds : [];
    const firstGroup = sourceGroups.map(groupOf).find((g): g is XSecurityGroup => g !== undefined);
    sourceGroupName = firstGroup ? name(firstGroup) : undefined;

    if (!sp.port.portSecurityEnabled) {
      pass('egress', `port security is off on ${sName}'s port: everything leaves it`);
    } else {
      const groups = sp.port.securityGroupIds.map(groupOf).filter((g): g is XSecurityGroup => g !== undefined);
      const ok = groups.find((g) => g.rules.some((r) => r.direction === 'egress' && ruleMatchesProbe(r, probe) && ruleMatchesRemote(r, tp.ip, tp.port.securityGroupIds)));
      if (!ok) {
        const g = groups[0];
        const gName = g ? name(g) : 'default';
        return block(
          'egress',
          `no egress rule of ${sName}'s security groups lets ${probeText(probe)} out to ${tp.ip}`,
          `no rule in security group ${gName} allows ${probeText(probe)} egress`,
          `openstack security group rule create ${ruleCreateArgs(probe, 'egress', gName)}`,
        );
      }
      pass('egress', `security group ${name(ok)} lets ${probeText(probe)} out of ${sName}`);
    }
  }

  if (!tp.port.portSecurityEnabled) {
    pass('security groups', `port security is off on ${tName}'s port: all traffic reaches it`);
    return { reachable: true, steps };
  }
  const groups = tp.port.securityGroupIds.map(groupOf).filter((g): g is XSecurityGroup => g !== undefined);
  if (groups.length === 0) {
    return block(
      'security groups',
      `${tName}'s port is in no security group: nothing gets in`,
      `instance ${tName} has no security group`,
      `openstack server add security group ${tName} default`,
    );
  }
  for (const g of groups) {
    const r = g.rules.find((x) => x.direction === 'ingress' && ruleMatchesProbe(x, probe) && ruleMatchesRemote(x, sourceIp, sourceGroups));
    if (r) {
      const from = r.remoteGroupId ? `members of group ${name(groupOf(r.remoteGroupId) ?? { id: r.remoteGroupId, name: '' })}` : prefixText(r.remoteIpPrefix);
      pass('security groups', `a rule in security group ${name(g)} allows ${probeText(probe)} from ${from}`);
      return { reachable: true, steps };
    }
  }
  const g0 = groups[0] ?? { id: 'default', name: 'default', rules: [] };
  // A rule written for this very protocol says more about the user's intent than an allow-all one.
  const near = groups
    .flatMap((g) => g.rules.filter((x) => x.direction === 'ingress' && ruleMatchesProbe(x, probe)).map((x) => ({ g, x })))
    .sort((a, b) => Number(a.x.protocol === null) - Number(b.x.protocol === null))[0];
  const who = world.source === 'host' ? `the host${sourceIp ? ` (${sourceIp})` : ''}` : `${name(world.source.server)}${sourceIp ? ` (${sourceIp})` : ''}`;
  const detail = near
    ? `security group ${name(near.g)} allows ${probeText(probe)} only from ${near.x.remoteGroupId ? `members of group ${name(groupOf(near.x.remoteGroupId) ?? { id: near.x.remoteGroupId, name: '' })}` : prefixText(near.x.remoteIpPrefix)}, not from ${who}`
    : `no ingress rule in ${groups.map(name).join(', ')} matches ${probeText(probe)}`;
  const remote = world.source === 'host' ? undefined : sourceGroupName ? `--remote-group ${sourceGroupName}` : sourceIp ? `--remote-ip ${sourceIp}/32` : undefined;
  return block(
    'security groups',
    detail,
    `no rule in security group ${name(g0)} allows ${probeText(probe)} ingress${world.source === 'host' ? '' : ` from ${who}`}`,
    `openstack security group rule create ${ruleCreateArgs(probe, 'ingress', remote)} ${name(g0)}`,
  );
}

/** A rule's remote prefix as people say it: 0.0.0.0/0 is "anywhere". */
function prefixText(prefix: string | null): string {
  return prefix === null || prefix === '0.0.0.0/0' || prefix === '::/0' ? 'anywhere' : prefix;
}

type Blocked = [check: string, detail: string, message: string, fix: string];

/** The step that fails when an endpoint is not running, or undefined when it is. */
function checkState(e: XEndpoint, check: string): Blocked | undefined {
  const s = e.server;
  const n = s.name || s.id;
  switch (s.status) {
    case 'ACTIVE':
      return undefined;
    case 'BUILD':
      return [check, `${n} is still building`, `instance ${n} is not running yet (BUILD)`, `wait for ACTIVE: openstack server show ${n} -c status`];
    case 'SHUTOFF':
      return [check, `${n} is SHUTOFF`, `instance ${n} is stopped`, `openstack server start ${n}`];
    case 'PAUSED':
      return [check, `${n} is PAUSED`, `instance ${n} is paused`, `openstack server unpause ${n}`];
    case 'SUSPENDED':
      return [check, `${n} is SUSPENDED`, `instance ${n} is suspended`, `openstack server resume ${n}`];
    case 'ERROR':
      return [check, `${n} is in ERROR${s.fault ? `: ${s.fault}` : ''}`, `instance ${n} failed${s.fault ? `: ${s.fault}` : ''}`, `openstack server reboot --hard ${n}   # or delete it and launch again`];
    default:
      return [check, `${n} is ${s.status}`, `instance ${n} is ${s.status}, not ACTIVE`, `wait for ACTIVE: openstack server show ${n} -c status`];
  }
}

/** The endpoint's first port with an IPv4 address, its address and subnet. */
function firstIpv4(e: XEndpoint, subnets: XSubnet[]): { port: XPort; ip: string; subnet: XSubnet | undefined } | undefined {
  for (const port of e.ports) {
    for (const f of port.fixedIps) {
      if (ipv4(f.ip) !== undefined) return { port, ip: f.ip, subnet: subnets.find((s) => s.id === f.subnetId) };
    }
  }
  return undefined;
}
