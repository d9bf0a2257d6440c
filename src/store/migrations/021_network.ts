import { sql, type CreateTableBuilder, type Kysely } from 'kysely';

/**
 * Neutron's model. The invariants a client could otherwise break by racing
 * are constraints here, not only checks in code: one address per subnet
 * (ip_allocations primary key), one MAC per network, one VNI per VXLAN
 * network, one flat network per physical network, one default security
 * group per project, no duplicate security group rule, one floating IP per
 * fixed address.
 */

type Builder = CreateTableBuilder<string, never>;

/** created_at/updated_at/revision_number, Neutron's standard attributes. */
function standardAttrs(t: Builder): Builder {
  return t
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0));
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await standardAttrs(
    db.schema
      .createTable('networks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('admin_state_up', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('shared', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('external', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('mtu', 'integer', (c) => c.notNull())
      .addColumn('network_type', 'text', (c) => c.notNull().check(sql`network_type IN ('flat', 'vxlan')`))
      .addColumn('physical_network', 'text')
      .addColumn('segmentation_id', 'integer')
      .addColumn('port_security_enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('dns_domain', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('availability_zone_hints', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('ACTIVE')),
  ).execute();
  await sql`CREATE UNIQUE INDEX networks_segment ON networks (network_type, segmentation_id) WHERE segmentation_id IS NOT NULL`.execute(db);
  await sql`CREATE UNIQUE INDEX networks_flat_physnet ON networks (physical_network) WHERE network_type = 'flat'`.execute(db);
  await db.schema.createIndex('networks_project').on('networks').column('project_id').execute();

  await standardAttrs(
    db.schema
      .createTable('subnets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id'))
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('ip_version', 'integer', (c) => c.notNull().check(sql`ip_version IN (4, 6)`))
      .addColumn('cidr', 'text', (c) => c.notNull())
      .addColumn('gateway_ip', 'text')
      .addColumn('enable_dhcp', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('ipv6_ra_mode', 'text')
      .addColumn('ipv6_address_mode', 'text')
      .addColumn('allocation_pools', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('dns_nameservers', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('host_routes', 'text', (c) => c.notNull().defaultTo('[]')),
  ).execute();
  await db.schema.createIndex('subnets_network').on('subnets').column('network_id').execute();

  await standardAttrs(
    db.schema
      .createTable('ports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id'))
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('mac_address', 'text', (c) => c.notNull())
      .addColumn('admin_state_up', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('DOWN'))
      .addColumn('device_id', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('device_owner', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('binding_host_id', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('binding_vnic_type', 'text', (c) => c.notNull().defaultTo('normal'))
      .addColumn('binding_profile', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('binding_vif_type', 'text', (c) => c.notNull().defaultTo('unbound'))
      .addColumn('binding_vif_details', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('port_security_enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('allowed_address_pairs', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('dns_name', 'text', (c) => c.notNull().defaultTo(''))
      .addUniqueConstraint('ports_network_mac', ['network_id', 'mac_address']),
  ).execute();
  await db.schema.createIndex('ports_network').on('ports').column('network_id').execute();
  await db.schema.createIndex('ports_device').on('ports').column('device_id').execute();
  await db.schema.createIndex('ports_project').on('ports').column('project_id').execute();

  await db.schema
    .createTable('ip_free_ranges')
    .addColumn('subnet_id', 'text', (c) => c.notNull().references('subnets.id').onDelete('cascade'))
    .addColumn('first_key', 'text', (c) => c.notNull())
    .addColumn('last_key', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ip_free_ranges_pk', ['subnet_id', 'first_key'])
    .addCheckConstraint('ip_free_ranges_order', sql`first_key <= last_key`)
    .execute();
  await db.schema.createIndex('ip_free_ranges_last').on('ip_free_ranges').columns(['subnet_id', 'last_key']).unique().execute();

  await db.schema
    .createTable('ip_allocations')
    .addColumn('subnet_id', 'text', (c) => c.notNull().references('subnets.id'))
    .addColumn('ip_address', 'text', (c) => c.notNull())
    .addColumn('port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ip_allocations_pk', ['subnet_id', 'ip_address'])
    .execute();
  await db.schema.createIndex('ip_allocations_port').on('ip_allocations').column('port_id').execute();
  await db.schema.createIndex('ip_allocations_network').on('ip_allocations').column('network_id').execute();

  await standardAttrs(
    db.schema
      .createTable('security_groups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('stateful', 'integer', (c) => c.notNull().defaultTo(1)),
  ).execute();
  await db.schema.createIndex('security_groups_project').on('security_groups').column('project_id').execute();

  await db.schema
    .createTable('default_security_groups')
    .addColumn('project_id', 'text', (c) => c.primaryKey())
    .addColumn('security_group_id', 'text', (c) => c.notNull().unique().references('security_groups.id').onDelete('cascade'))
    .execute();

  await standardAttrs(
    db.schema
      .createTable('security_group_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction IN ('ingress', 'egress')`))
      .addColumn('ethertype', 'text', (c) => c.notNull().check(sql`ethertype IN ('IPv4', 'IPv6')`))
      .addColumn('protocol', 'text')
      .addColumn('port_range_min', 'integer')
      .addColumn('port_range_max', 'integer')
      .addColumn('remote_ip_prefix', 'text')
      .addColumn('remote_group_id', 'text', (c) => c.references('security_groups.id').onDelete('cascade'))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('fingerprint', 'text', (c) => c.notNull().unique()),
  ).execute();
  await db.schema.createIndex('sg_rules_group').on('security_group_rules').column('security_group_id').execute();
  await db.schema.createIndex('sg_rules_remote').on('security_group_rules').column('remote_group_id').execute();

  await db.schema
    .createTable('port_security_groups')
    .addColumn('port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id'))
    .addPrimaryKeyConstraint('port_security_groups_pk', ['port_id', 'security_group_id'])
    .execute();
  await db.schema.createIndex('port_security_groups_sg').on('port_security_groups').column('security_group_id').execute();

  await standardAttrs(
    db.schema
      .createTable('routers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('admin_state_up', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('ACTIVE'))
      .addColumn('gw_network_id', 'text', (c) => c.references('networks.id'))
      .addColumn('gw_port_id', 'text')
      .addColumn('enable_snat', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('availability_zone_hints', 'text', (c) => c.notNull().defaultTo('[]')),
  ).execute();
  await db.schema.createIndex('routers_project').on('routers').column('project_id').execute();
  await db.schema.createIndex('routers_gw_network').on('routers').column('gw_network_id').execute();

  await db.schema
    .createTable('router_routes')
    .addColumn('router_id', 'text', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('nexthop', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('router_routes_pk', ['router_id', 'destination', 'nexthop'])
    .execute();

  await standardAttrs(
    db.schema
      .createTable('floatingips')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('floating_network_id', 'text', (c) => c.notNull().references('networks.id'))
      .addColumn('floating_ip_address', 'text', (c) => c.notNull())
      .addColumn('floating_port_id', 'text', (c) => c.notNull().references('ports.id'))
      .addColumn('fixed_port_id', 'text', (c) => c.references('ports.id'))
      .addColumn('fixed_ip_address', 'text')
      .addColumn('router_id', 'text', (c) => c.references('routers.id'))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('DOWN'))
      .addUniqueConstraint('floatingips_address', ['floating_network_id', 'floating_ip_address'])
      .addUniqueConstraint('floatingips_fixed', ['fixed_port_id', 'fixed_ip_address']),
  ).execute();
  await db.schema.createIndex('floatingips_project').on('floatingips').column('project_id').execute();
  await db.schema.createIndex('floatingips_router').on('floatingips').column('router_id').execute();

  await db.schema
    .createTable('network_tags')
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_tags_pk', ['resource_id', 'tag'])
    .execute();

  await db.schema
    .createTable('network_quotas')
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_quotas_pk', ['project_id', 'resource'])
    .execute();
}
