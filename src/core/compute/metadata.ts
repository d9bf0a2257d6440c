import { createHash } from 'node:crypto';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import type { ServerDetails } from './details.js';
import { loadDetails } from './details.js';
import type { PortInfo, SubnetInfo } from './neighbours.js';
import type { ComputeCore } from './service.js';
import { flavorOf } from './service.js';

/**
 * What a guest reads about itself, in Nova's two layouts: the OpenStack one
 * (/openstack/<version>/meta_data.json, network_data.json, user_data,
 * vendor_data*.json) and the EC2 one (/<version>/meta-data/..., user-data).
 * The same content is served by the metadata API (only to the instance
 * behind the asking port) and written to a config drive.
 */

/** OpenStack metadata versions, oldest first (what cloud-init probes for). */
export const OPENSTACK_VERSIONS = ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27'];
/** EC2 metadata versions Nova serves. */
export const EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04'];

/** Everything the documents are made from, loaded once per request. */
export interface GuestView {
  server: InstanceRow;
  details: ServerDetails;
  ports: PortInfo[];
  subnets: SubnetInfo[];
  networkMtu: Map<string, number>;
  zone: string;
}

/** Loads the view of one server (ports with subnets through the network core). */
export async function guestView(core: ComputeCore, server: InstanceRow): Promise<GuestView> {
  const details = (await loadDetails(core, [server])).get(server.id);
  if (!details) throw new Error(`no details for ${server.id}`);
  let ports: PortInfo[] = [];
  let subnets: SubnetInfo[] = [];
  const networkMtu = new Map<string, number>();
  if (core.network && details.ports.length > 0) {
    const infos = await core.network.portsById(details.ports.map((p) => p.port_id));
    ports = details.ports.flatMap((p) => {
      const i = infos.get(p.port_id);
      return i ? [i] : [];
    });
    const netIds = [...new Set(ports.map((p) => p.networkId))];
    subnets = await core.network.subnetsOf(netIds);
    for (const [id, n] of await core.network.networksById(netIds)) networkMtu.set(id, n.mtu);
  }
  return { server, details, ports, subnets, networkMtu, zone: server.node ? core.settings.availabilityZone : (server.availability_zone ?? core.settings.availabilityZone) };
}

/** A stable random seed per server (cloud-init feeds it to the guest's RNG); derived so every read agrees. */
function randomSeed(id: string): string {
  const chunks: Buffer[] = [];
  for (let i = 0; i < 16; i++) chunks.push(createHash('sha256').update(`${id}:${i}`).digest());
  return Buffer.concat(chunks).toString('base64');
}

function keyName(s: InstanceRow): string {
  return s.key_name ?? 'key';
}

/** /openstack/<v>/meta_data.json */
export function metaDataJson(g: GuestView): Record<string, unknown> {
  const s = g.server;
  const out: Record<string, unknown> = {
    uuid: s.id,
    meta: g.details.metadata,
    hostname: s.hostname,
    name: s.name,
    launch_index: s.launch_index,
    availability_zone: g.zone,
    project_id: s.project_id,
    random_seed: randomSeed(s.id),
    devices: [],
    dedicated_cpus: [],
  };
  if (s.key_data) {
    out['public_keys'] = { [keyName(s)]: s.key_data };
    out['keys'] = [{ name: keyName(s), type: 'ssh', data: s.key_data }];
  }
  return out;
}

function netmaskOf(cidr: string): string {
  const [, bitsText] = cidr.split('/');
  const bits = Number(bitsText ?? 32);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [24, 16, 8, 0].map((sh) => (mask >>> sh) & 255).join('.');
}

/** /openstack/<v>/network_data.json, after Nova's netutils (links, networks, services). */
export function networkDataJson(g: GuestView): Record<string, unknown> {
  const links: Record<string, unknown>[] = [];
  const networks: Record<string, unknown>[] = [];
  const services: Record<string, unknown>[] = [];
  let n = 0;
  for (const p of g.ports) {
    const link = `tap${p.id.slice(0, 11)}`;
    links.push({ id: link, vif_id: p.id, type: 'bridge', mtu: g.networkMtu.get(p.networkId) ?? 1450, ethernet_mac_address: p.macAddress });
    for (const ip of p.fixedIps) {
      const subnet = g.subnets.find((s) => s.id === ip.subnetId);
      const id = `network${n++}`;
      if (subnet && ip.version === 4 && subnet.enableDhcp) {
        networks.push({ id, type: 'ipv4_dhcp', link, network_id: p.networkId });
        continue;
      }
      const routes: Record<string, unknown>[] = [];
      if (subnet?.gatewayIp) {
        routes.push(ip.version === 4 ? { network: '0.0.0.0', netmask: '0.0.0.0', gateway: subnet.gatewayIp } : { network: '::', netmask: '::', gateway: subnet.gatewayIp });
      }
      for (const r of subnet?.hostRoutes ?? []) {
        const [net = '', bits = '32'] = r.destination.split('/');
        routes.push({ network: net, netmask: ip.version === 4 ? netmaskOf(`x/${bits}`) : bits, gateway: r.nexthop });
      }
      networks.push({
        id,
        type: ip.version === 4 ? 'ipv4' : 'ipv6',
        link,
        ip_address: ip.ipAddress,
        netmask: subnet ? (ip.version === 4 ? netmaskOf(subnet.cidr) : (subnet.cidr.split('/')[1] ?? '64')) : ip.version === 4 ? '255.255.255.0' : '64',
        routes,
        network_id: p.networkId,
        services: (subnet?.dnsNameservers ?? []).map((address) => ({ type: 'dns', address })),
      });
    }
    for (const sub of g.subnets.filter((s) => s.networkId === p.networkId)) {
      for (const address of sub.dnsNameservers) if (!services.some((x) => x['address'] === address)) services.push({ type: 'dns', address });
    }
  }
  return { links, networks, services };
}

export function userDataBytes(s: InstanceRow): Buffer | undefined {
  return s.user_data ? Buffer.from(s.user_data, 'base64') : undefined;
}

/** The EC2 meta-data tree: leaves are strings, directories are objects. */
export type Ec2Tree = { [name: string]: string | Ec2Tree };

export function ec2MetaData(g: GuestView): Ec2Tree {
  const s = g.server;
  const fixed = g.details.addresses.find((a) => a.type === 'fixed' && a.version === 4)?.addr ?? '';
  const floating = g.details.addresses.find((a) => a.type === 'floating')?.addr ?? '';
  const f = flavorOf(s);
  const tree: Ec2Tree = {
    'ami-id': s.image_id ? `ami-${s.image_id.replaceAll('-', '').slice(0, 8)}` : '',
    'ami-launch-index': String(s.launch_index),
    'ami-manifest-path': 'FIXME',
    'block-device-mapping': { ami: 'vda', root: '/dev/vda' },
    hostname: s.hostname,
    'instance-action': 'none',
    'instance-id': `i-${s.id.replaceAll('-', '').slice(0, 8)}`,
    'instance-type': f.name,
    'local-hostname': s.hostname,
    'local-ipv4': fixed,
    placement: { 'availability-zone': g.zone },
    'public-hostname': s.hostname,
    'public-ipv4': floating,
    'reservation-id': s.reservation_id,
    'security-groups': g.details.securityGroups.join('\n'),
  };
  if (s.key_data) tree['public-keys'] = { [`0=${keyName(s)}`]: { 'openssh-key': s.key_data } };
  return tree;
}

/** The files of a config drive (label config-2), as Nova writes them: path → bytes. */
export function configDriveFiles(g: GuestView): Record<string, Uint8Array> {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o));
  const files: Record<string, Uint8Array> = {};
  const meta = enc(metaDataJson(g));
  const net = enc(networkDataJson(g));
  const vendor = enc({});
  const ud = userDataBytes(g.server);
  for (const v of [...OPENSTACK_VERSIONS, 'latest']) {
    files[`openstack/${v}/meta_data.json`] = meta;
    if (v >= '2015-10-15' || v === 'latest') files[`openstack/${v}/network_data.json`] = net;
    if (v >= '2013-04-04' || v === 'latest') files[`openstack/${v}/vendor_data.json`] = vendor;
    if (v >= '2016-10-06' || v === 'latest') files[`openstack/${v}/vendor_data2.json`] = vendor;
    if (ud) files[`openstack/${v}/user_data`] = ud;
  }
  const ec2 = enc(ec2MetaData(g));
  for (const v of ['2009-04-04', 'latest']) {
    files[`ec2/${v}/meta-data.json`] = ec2;
    if (ud) files[`ec2/${v}/user-data`] = ud;
  }
  return files;
}

/** The config drive of a server, for the reconciler to hand the driver. */
export async function configDriveOf(core: ComputeCore, server: InstanceRow): Promise<Record<string, Uint8Array>> {
  return configDriveFiles(await guestView(core, server));
}

/**
 * The server behind a metadata request: the proxy says which network (or
 * router) and which source address; the port with that address on that
 * network belongs to at most one live server.
 */
export async function serverForRequest(core: ComputeCore, where: { networkId?: string; routerId?: string }, ip: string): Promise<InstanceRow | undefined> {
  if (!core.network) return undefined;
  const port = await core.network.findPortByAddress(where, ip);
  if (!port) return undefined;
  const link = await core.instances.instanceOfPort(port.id);
  if (!link) return undefined;
  const s = await core.instances.get(link.instance_id);
  return s && !s.deleted ? s : undefined;
}
