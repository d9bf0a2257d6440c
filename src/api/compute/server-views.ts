import { createHash } from 'node:crypto';
import type { AuthContext } from '../../core/auth.js';
import type { ServerAddress, ServerDetails } from '../../core/compute/details.js';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import { flavorOf } from '../../core/compute/service.js';
import { statusOf, VM } from '../../core/compute/states.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import { links, novaTime, usageTime, type Roots } from './common.js';

/**
 * Nova's server representations per microversion: the summary (id, name,
 * links), the detail, and the response to create. Each field appears from
 * the microversion that introduced it; tempest's schemas check this.
 */

export interface ViewContext {
  roots: Roots;
  mv: Microversion;
  auth: AuthContext;
  /** Availability zone servers live in. */
  zone: string;
  /** host_status of this host (2.16): UP unless the compute service is disabled/forced down. */
  hostStatus: string;
}

/** Nova's hostId: sha224 of project id + host, so servers of one project on one host share it. */
const hostIds = new Map<string, string>();

export function hostIdOf(host: string | null, projectId: string): string {
  if (!host) return '';
  const key = `${projectId}\u0000${host}`;
  let h = hostIds.get(key);
  if (!h) {
    h = createHash('sha224').update(projectId + host).digest('hex');
    if (hostIds.size > 10000) hostIds.clear();
    hostIds.set(key, h);
  }
  return h;
}

export function addressesView(addrs: ServerAddress[]): Record<string, { version: number; addr: string; 'OS-EXT-IPS:type': string; 'OS-EXT-IPS-MAC:mac_addr': string }[]> {
  const out: Record<string, { version: number; addr: string; 'OS-EXT-IPS:type': string; 'OS-EXT-IPS-MAC:mac_addr': string }[]> = {};
  for (const a of addrs) {
    (out[a.network] ??= []).push({ version: a.version, addr: a.addr, 'OS-EXT-IPS:type': a.type, 'OS-EXT-IPS-MAC:mac_addr': a.mac });
  }
  return out;
}

export function serverSummary(c: ViewContext, s: Pick<InstanceRow, 'id' | 'name'>) {
  return { id: s.id, name: s.name, links: links(c.roots, 'servers', s.id) };
}

const PROGRESS = new Set(['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING']);

/** The detailed representation (GET /servers/{id}, /servers/detail, and PUT/rebuild from 2.75). */
export function serverDetail(c: ViewContext, s: InstanceRow, d: ServerDetails, opts: { serverGroups?: boolean } = {}) {
  const v = c.mv;
  const status = statusOf(s.vm_state, s.task_state, s.deleted === 1);
  const f = flavorOf(s);
  const flavor = atLeast(v, 47)
    ? {
        vcpus: f.vcpus,
        ram: f.ram,
        disk: f.disk,
        ephemeral: f.ephemeral,
        swap: f.swap,
        original_name: f.name,
        // Nova's default policy shows extra specs to every project reader.
        extra_specs: f.extra_specs,
      }
    : { id: f.id, links: [{ rel: 'bookmark', href: `${c.roots.bookmark}/flavors/${encodeURIComponent(f.id)}` }] };
  const out: Record<string, unknown> = {
    id: s.id,
    name: s.name,
    status,
    tenant_id: s.project_id,
    user_id: s.user_id,
    metadata: d.metadata,
    hostId: hostIdOf(s.host, s.project_id),
    image: s.image_id ? { id: s.image_id, links: [{ rel: 'bookmark', href: `${c.roots.bookmark}/images/${s.image_id}` }] } : '',
    flavor,
    created: novaTime(s.created_at),
    updated: novaTime(s.updated_at),
    // Nova hides addresses while the server is building.
    addresses: s.vm_state === VM.BUILDING ? {} : addressesView(d.addresses),
    accessIPv4: s.access_ipv4,
    accessIPv6: s.access_ipv6,
    links: links(c.roots, 'servers', s.id),
    'OS-DCF:diskConfig': s.disk_config,
    'OS-EXT-AZ:availability_zone': s.node ? c.zone : (s.availability_zone ?? ''),
    config_drive: s.config_drive ? 'True' : '',
    key_name: s.key_name,
    'OS-SRV-USG:launched_at': usageTime(s.launched_at),
    'OS-SRV-USG:terminated_at': usageTime(s.terminated_at),
    'OS-EXT-STS:task_state': s.task_state,
    'OS-EXT-STS:vm_state': s.vm_state,
    'OS-EXT-STS:power_state': s.power_state,
    'os-extended-volumes:volumes_attached': [],
  };
  if (d.securityGroups.length > 0) out['security_groups'] = d.securityGroups.map((name) => ({ name }));
  if (PROGRESS.has(status)) out['progress'] = s.progress;
  if ((status === 'ERROR' || status === 'DELETED') && s.fault_code !== null) {
    const fault: Record<string, unknown> = { code: s.fault_code, created: novaTime(s.fault_created ?? s.updated_at), message: s.fault_message ?? '' };
    // Nova hides details of 500 faults from non-admins because they hold tracebacks; ours hold the reason a person needs.
    if (s.fault_details) fault['details'] = s.fault_details;
    out['fault'] = fault;
  }
  if (c.auth.isAdmin) {
    out['OS-EXT-SRV-ATTR:host'] = s.host;
    out['OS-EXT-SRV-ATTR:instance_name'] = `instance-${s.id.slice(0, 8)}`;
    out['OS-EXT-SRV-ATTR:hypervisor_hostname'] = s.node;
    if (atLeast(v, 3)) {
      out['OS-EXT-SRV-ATTR:hostname'] = s.hostname;
      out['OS-EXT-SRV-ATTR:kernel_id'] = '';
      out['OS-EXT-SRV-ATTR:launch_index'] = s.launch_index;
      out['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
      out['OS-EXT-SRV-ATTR:reservation_id'] = s.reservation_id;
      out['OS-EXT-SRV-ATTR:root_device_name'] = s.root_device_name;
      out['OS-EXT-SRV-ATTR:user_data'] = s.user_data;
    }
  }
  if (atLeast(v, 9)) out['locked'] = s.locked === 1;
  if (atLeast(v, 16) && c.auth.isAdmin && s.host) out['host_status'] = c.hostStatus;
  if (atLeast(v, 19)) out['description'] = s.description;
  if (atLeast(v, 26)) out['tags'] = d.tags;
  if (atLeast(v, 63)) out['trusted_image_certificates'] = s.trusted_certs ? (JSON.parse(s.trusted_certs) as string[]) : null;
  if (opts.serverGroups && atLeast(v, 71)) out['server_groups'] = d.groupId ? [d.groupId] : [];
  if (atLeast(v, 73)) out['locked_reason'] = s.locked_reason;
  return out;
}
