import type { SecurityGroupRuleSpec, SecurityGroupSpec } from '../../host/network/driver.js';
import type { GroupMember, SecurityGroupDetail } from '../../store/network/topology.js';
import type { Controller } from '../controller.js';
import type { NetworkControllerDeps } from './deps.js';
import { uniqueSorted, unownedKeys } from './specs.js';

/** A group's rules and the addresses its remote-group set holds (fixed IPs and allowed address pairs of its ports). */
export function securityGroupSpecOf(g: SecurityGroupDetail, members: GroupMember[]): SecurityGroupSpec {
  const rules: SecurityGroupRuleSpec[] = g.rules
    .map((r) => ({
      id: r.id,
      direction: r.direction,
      ethertype: r.ethertype,
      protocol: r.protocol,
      portRangeMin: r.port_range_min,
      portRangeMax: r.port_range_max,
      remoteIpPrefix: r.remote_ip_prefix,
      remoteGroupId: r.remote_group_id,
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
  return { groupId: g.group.id, rules, memberIps: uniqueSorted(members.flatMap((m) => m.addresses)) };
}

/**
 * Security groups: rule chains and member sets. Woken by group events
 * (the core emits them for rule and membership changes) and by port events
 * (a member's addresses or address pairs changed).
 */
export class SecurityGroupsController implements Controller {
  readonly kinds = ['security_group', 'port'] as const;
  readonly name = 'security-groups';
  /** Different objects converge side by side: each has its own host objects, and the shared nft tables serialize their own changes. */
  readonly concurrency = 4;

  constructor(private readonly deps: NetworkControllerDeps) {}

  async listKeys(): Promise<string[]> {
    return (await this.deps.topology.securityGroups()).map((g) => g.id);
  }

  async keysFor(kind: string, id: string): Promise<string[]> {
    if (kind === 'security_group') return [id];
    // A deleted port's groups have their own events from the core.
    return (await this.deps.topology.port(id))?.securityGroupIds ?? [];
  }

  async reconcile(id: string): Promise<void> {
    const { topology, driver } = this.deps;
    const g = await topology.securityGroup(id);
    if (!g) {
      await driver.removeSecurityGroup(id);
      return;
    }
    await driver.ensureSecurityGroup(securityGroupSpecOf(g, await topology.groupMembers(id)));
  }

  async collectGarbage(): Promise<void> {
    const { topology, driver, log } = this.deps;
    const inv = await driver.inventory();
    const ids = (await topology.securityGroups()).map((g) => g.id);
    for (const key of unownedKeys(inv.securityGroups, ids)) {
      log.info({ key }, 'removing the filtering of a security group that no longer exists');
      await driver.removeSecurityGroup(key);
    }
  }
}
