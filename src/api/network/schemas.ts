import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Request bodies of the Neutron routes. Objects are closed, as Neutron
 * answers an unknown attribute with 400 ("Unrecognized attribute(s)").
 */

const closed = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });
const opt = <T extends TSchema>(s: T) => Type.Optional(s);
const nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);

const Name = Type.String({ maxLength: 255 });
const Desc = Type.String({ maxLength: 255 });
const Ref = Type.String({ maxLength: 255 });
const Project = Type.String({ maxLength: 255 });
const Bool = Type.Boolean();
const Tags = Type.Array(Type.String({ maxLength: 255 }), { maxItems: 50 });
const Strings = (max: number) => Type.Array(Type.String({ maxLength: 255 }), { maxItems: max });
const IntOrDigits = Type.Union([Type.Integer(), Type.String({ pattern: '^-?[0-9]{1,10}$' })]);

const owned = { project_id: opt(Project), tenant_id: opt(Project) };

const networkAttrs = {
  name: opt(Name),
  description: opt(Desc),
  admin_state_up: opt(Bool),
  shared: opt(Bool),
  'router:external': opt(Bool),
  mtu: opt(Type.Integer({ minimum: 0, maximum: 65535 })),
  port_security_enabled: opt(Bool),
  'provider:network_type': opt(Type.String({ maxLength: 32 })),
  'provider:physical_network': opt(nullable(Type.String({ maxLength: 64 }))),
  'provider:segmentation_id': opt(nullable(Type.Integer())),
  dns_domain: opt(Type.String({ maxLength: 255 })),
};

export const NetworkCreate = closed({
  network: closed({ ...networkAttrs, ...owned, availability_zone_hints: opt(Strings(8)), tags: opt(Tags) }),
});
export const NetworkUpdate = closed({ network: closed(networkAttrs) });

const Pool = closed({ start: Type.String({ maxLength: 64 }), end: Type.String({ maxLength: 64 }) });
const Route = closed({ destination: Type.String({ maxLength: 64 }), nexthop: Type.String({ maxLength: 64 }) });

const subnetMutable = {
  name: opt(Name),
  description: opt(Desc),
  gateway_ip: opt(nullable(Type.String({ maxLength: 64 }))),
  allocation_pools: opt(Type.Array(Pool, { maxItems: 256 })),
  dns_nameservers: opt(Strings(64)),
  host_routes: opt(Type.Array(Route, { maxItems: 256 })),
  enable_dhcp: opt(Bool),
};

export const SubnetCreate = closed({
  subnet: closed({
    ...subnetMutable,
    ...owned,
    network_id: Ref,
    ip_version: opt(Type.Integer()),
    cidr: opt(Type.String({ maxLength: 64 })),
    ipv6_ra_mode: opt(nullable(Type.String({ maxLength: 32 }))),
    ipv6_address_mode: opt(nullable(Type.String({ maxLength: 32 }))),
    subnetpool_id: opt(nullable(Ref)),
    prefixlen: opt(Type.Integer()),
    use_default_subnetpool: opt(Bool),
    segment_id: opt(nullable(Ref)),
    service_types: opt(Strings(16)),
    tags: opt(Tags),
  }),
});
/** Read-only attributes are let through to be refused with Neutron's message. */
export const SubnetUpdate = closed({
  subnet: Type.Object(subnetMutable, { additionalProperties: true }),
});

const FixedIp = closed({ subnet_id: opt(Ref), ip_address: opt(Type.String({ maxLength: 64 })) });
const AddressPair = closed({ ip_address: Type.String({ maxLength: 64 }), mac_address: opt(Type.String({ maxLength: 32 })) });
const VnicType = Type.Union(
  ['normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed'].map((v) =>
    Type.Literal(v),
  ),
);

const portMutable = {
  name: opt(Name),
  description: opt(Desc),
  admin_state_up: opt(Bool),
  mac_address: opt(Type.String({ maxLength: 32 })),
  fixed_ips: opt(Type.Array(FixedIp, { maxItems: 64 })),
  device_id: opt(Type.String({ maxLength: 255 })),
  device_owner: opt(Type.String({ maxLength: 255 })),
  security_groups: opt(Strings(64)),
  port_security_enabled: opt(Bool),
  allowed_address_pairs: opt(Type.Array(AddressPair, { maxItems: 64 })),
  'binding:host_id': opt(Type.String({ maxLength: 255 })),
  'binding:vnic_type': opt(VnicType),
  'binding:profile': opt(Type.Record(Type.String(), Type.Unknown())),
  dns_name: opt(Type.String({ maxLength: 255 })),
};

export const PortCreate = closed({ port: closed({ ...portMutable, ...owned, network_id: Ref, tags: opt(Tags) }) });
export const PortUpdate = closed({ port: closed(portMutable) });

const GatewayInfo = nullable(
  closed({
    network_id: opt(Ref),
    enable_snat: opt(Bool),
    external_fixed_ips: opt(Type.Array(FixedIp, { maxItems: 16 })),
    qos_policy_id: opt(Type.Null()),
  }),
);

const routerMutable = {
  name: opt(Name),
  description: opt(Desc),
  admin_state_up: opt(Bool),
  external_gateway_info: opt(GatewayInfo),
  distributed: opt(Bool),
  ha: opt(Bool),
};

export const RouterCreate = closed({
  router: closed({ ...routerMutable, ...owned, availability_zone_hints: opt(Strings(8)), flavor_id: opt(Type.Null()), tags: opt(Tags) }),
});
export const RouterUpdate = closed({ router: closed({ ...routerMutable, routes: opt(Type.Array(Route, { maxItems: 256 })) }) });
export const RouterInterface = closed({ subnet_id: opt(Ref), port_id: opt(Ref) });
export const ExtraRoutes = closed({ router: closed({ routes: Type.Array(Route, { maxItems: 256 }) }) });

export const FloatingIpCreate = closed({
  floatingip: closed({
    ...owned,
    floating_network_id: Ref,
    floating_ip_address: opt(Type.String({ maxLength: 64 })),
    subnet_id: opt(Ref),
    port_id: opt(nullable(Ref)),
    fixed_ip_address: opt(nullable(Type.String({ maxLength: 64 }))),
    description: opt(Desc),
    tags: opt(Tags),
  }),
});
export const FloatingIpUpdate = closed({
  floatingip: closed({ port_id: opt(nullable(Ref)), fixed_ip_address: opt(nullable(Type.String({ maxLength: 64 }))), description: opt(Desc) }),
});

export const SecurityGroupCreate = closed({
  security_group: closed({ name: opt(Name), description: opt(Desc), stateful: opt(Bool), ...owned, tags: opt(Tags) }),
});
export const SecurityGroupUpdate = closed({ security_group: closed({ name: opt(Name), description: opt(Desc), stateful: opt(Bool) }) });

export const RuleCreate = closed({
  security_group_rule: closed({
    ...owned,
    security_group_id: Ref,
    direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
    ethertype: opt(Type.String({ maxLength: 8 })),
    protocol: opt(nullable(Type.Union([Type.String({ maxLength: 32 }), Type.Integer()]))),
    port_range_min: opt(nullable(IntOrDigits)),
    port_range_max: opt(nullable(IntOrDigits)),
    remote_ip_prefix: opt(nullable(Type.String({ maxLength: 64 }))),
    remote_group_id: opt(nullable(Ref)),
    description: opt(Desc),
  }),
});
export const RuleUpdate = closed({ security_group_rule: closed({ description: opt(Desc) }) });

export const QuotaUpdate = closed({ quota: Type.Record(Type.String(), Type.Unknown()) });
export const TagsBody = closed({ tags: Type.Array(Type.String({ maxLength: 255 }), { maxItems: 50 }) });

export const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }) });
export const TagParam = Type.Object({
  resource: Type.String({ maxLength: 64 }),
  id: Type.String({ minLength: 1, maxLength: 255 }),
  tag: Type.String({ minLength: 1, maxLength: 255 }),
});
export const TaggedParam = Type.Object({ resource: Type.String({ maxLength: 64 }), id: Type.String({ minLength: 1, maxLength: 255 }) });
