/**
 * The Neutron API extensions this cloud implements, and nothing else:
 * clients (the CLI, openstacksdk, Horizon, Terraform) decide what to send
 * by this list.
 */

export interface Extension {
  alias: string;
  name: string;
  description: string;
}

const UPDATED = '2023-01-01T00:00:00-00:00';

export const EXTENSIONS: readonly Extension[] = [
  { alias: 'external-net', name: 'Neutron external network', description: 'Adds external network attribute to network resource.' },
  { alias: 'router', name: 'Neutron L3 Router', description: 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.' },
  { alias: 'ext-gw-mode', name: 'Neutron L3 Configurable external gateway mode', description: 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway' },
  { alias: 'extraroute', name: 'Neutron Extra Route', description: 'Extra routes configuration for L3 router' },
  { alias: 'extraroute-atomic', name: 'Atomically add/remove extra routes', description: 'Edit extra routes of a router on server side by atomically adding/removing extra routes' },
  { alias: 'security-group', name: 'security-group', description: 'The security groups extension.' },
  { alias: 'stateful-security-group', name: 'Stateful security group', description: 'Indicates if the security group is stateful or not' },
  { alias: 'security-groups-normalized-cidr', name: 'Security group with normalized CIDR', description: 'Add new field with normalized remote_ip_prefix cidr in SG rule' },
  { alias: 'port-security', name: 'Port Security', description: 'Provides port security' },
  { alias: 'port-security-groups-filtering', name: 'Port filtering on security groups', description: 'Provides security groups filtering when listing ports' },
  { alias: 'allowed-address-pairs', name: 'Allowed Address Pairs', description: 'Provides allowed address pairs' },
  { alias: 'quotas', name: 'Quota management support', description: 'Expose functions for quotas management per project' },
  { alias: 'quota_details', name: 'Quota details management support', description: 'Expose functions for quotas usage statistics per project' },
  { alias: 'standard-attr-description', name: 'standard-attr-description', description: 'Extension to add descriptions to standard attributes' },
  { alias: 'standard-attr-tag', name: 'Tag support for resources with standard attribute: subnet, floatingip, router, network, security_group, port', description: 'Enables to set tag on resources with standard attribute.' },
  { alias: 'tag-ext', name: 'Tag support for resources: subnet, port, router, subnetpool', description: 'Extends tag support to more L2 and L3 resources.' },
  { alias: 'tag', name: 'Tag support', description: 'Enables to set tag on resources.' },
  { alias: 'standard-attr-timestamp', name: 'Resource timestamps', description: 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.' },
  { alias: 'standard-attr-revisions', name: 'Resource revision numbers', description: 'This extension will display the revision number of neutron resources.' },
  { alias: 'revision-if-match', name: 'If-Match constraints based on revision_number', description: "Extension indicating that If-Match based on revision_number is supported." },
  { alias: 'binding', name: 'Port Binding', description: 'Expose port bindings of a virtual port to external application' },
  { alias: 'net-mtu', name: 'Network MTU', description: 'Provides MTU attribute for a network resource.' },
  { alias: 'net-mtu-writable', name: 'Network MTU (writable)', description: 'Provides a writable MTU attribute for a network resource.' },
  { alias: 'availability_zone', name: 'Availability Zone', description: 'The availability zone extension.' },
  { alias: 'network_availability_zone', name: 'Network Availability Zone', description: 'Availability zone support for network.' },
  { alias: 'router_availability_zone', name: 'Router Availability Zone', description: 'Availability zone support for router.' },
  { alias: 'project-id', name: 'project_id field enabled', description: 'Extension that indicates that project_id field is enabled.' },
  { alias: 'pagination', name: 'Pagination support', description: 'Extension that indicates that pagination is enabled.' },
  { alias: 'sorting', name: 'Sorting support', description: 'Extension that indicates that sorting is enabled.' },
  { alias: 'fields', name: 'Fields support', description: 'Extension that indicates that fields selection is enabled.' },
  { alias: 'ip-substring-filtering', name: 'IP address substring filtering', description: 'Provides IP address substring filtering when listing ports' },
  { alias: 'network-ip-availability', name: 'Network IP Availability', description: 'Provides IP availability data for each network and subnet.' },
  { alias: 'provider', name: 'Provider Network', description: 'Expose mapping of virtual networks to physical networks' },
  { alias: 'fip-port-details', name: 'Floating IP Port Details Extension', description: 'Add port_details attribute to Floating IP resource' },
];

export function extensionView(e: Extension) {
  return { name: e.name, alias: e.alias, description: e.description, updated: UPDATED, links: [] };
}
