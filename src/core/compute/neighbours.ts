import type { AuthContext } from '../auth.js';

/**
 * What compute needs from the other services, as narrow interfaces: the
 * network core (networks, ports with fixed IPs and security groups,
 * floating IPs) and the image core (images by id, snapshots). Compute never
 * reads their tables; the daemon wires adapters over their cores.
 */

export interface FixedIp {
  ipAddress: string;
  subnetId: string;
  version: 4 | 6;
}

export interface NetworkInfo {
  id: string;
  name: string;
  projectId: string;
  shared: boolean;
  external: boolean;
  status: string;
  mtu: number;
}

export interface SubnetInfo {
  id: string;
  networkId: string;
  cidr: string;
  ipVersion: 4 | 6;
  gatewayIp: string | null;
  enableDhcp: boolean;
  dnsNameservers: string[];
  hostRoutes: { destination: string; nexthop: string }[];
}

export interface PortInfo {
  id: string;
  networkId: string;
  projectId: string;
  macAddress: string;
  fixedIps: FixedIp[];
  deviceId: string;
  deviceOwner: string;
  status: string;
  securityGroupIds: string[];
  hostId: string;
}

export interface PortRequest {
  networkId: string;
  projectId: string;
  /** Names or ids, as Nova passes them to Neutron; the network core resolves them within the project. */
  securityGroups: string[];
  fixedIp?: string | undefined;
  deviceId: string;
  hostId: string;
}

/** Floating IPs and their fixed IPs, for the `addresses` view and the EC2 metadata's public-ipv4. */
export interface FloatingIpInfo {
  floatingIp: string;
  fixedIp: string;
  portId: string;
}

/** A security group as Nova's os-security-groups proxy shows it (ingress rules only, as Nova converts them). */
export interface SecurityGroupInfo {
  id: string;
  name: string;
  description: string;
  projectId: string;
  rules: { id: string; protocol: string | null; portMin: number | null; portMax: number | null; remoteIpPrefix: string | null; remoteGroupId: string | null }[];
}

export interface NetworkForCompute {
  /** The network if the caller may use it (own, shared or external for admin), else undefined. */
  getNetwork(auth: AuthContext, id: string): Promise<NetworkInfo | undefined>;
  /** Networks a project may attach to without naming one: its own first, then shared ones. */
  networksForAuto(projectId: string): Promise<NetworkInfo[]>;
  subnetsOf(networkIds: string[]): Promise<SubnetInfo[]>;
  /** Creates a bound port (device_owner compute:nova); throws the network core's 4xx (IP taken, not in subnet, unknown group). */
  createPort(auth: AuthContext, req: PortRequest): Promise<PortInfo>;
  getPort(id: string): Promise<PortInfo | undefined>;
  /** Binds an existing port to a server. */
  bindPort(id: string, binding: { deviceId: string; hostId: string }): Promise<PortInfo>;
  /** Clears device_id/device_owner/binding (pre-made ports go back to the user unbound). */
  unbindPort(id: string): Promise<void>;
  deletePort(id: string): Promise<void>;
  /** Ports by id, in bulk (list views). */
  portsById(ids: string[]): Promise<Map<string, PortInfo>>;
  networkNames(ids: string[]): Promise<Map<string, string>>;
  /** Networks by id, in bulk, whatever their owner (the caller already holds ports on them). */
  networksById(ids: string[]): Promise<Map<string, NetworkInfo>>;
  securityGroupNames(ids: string[]): Promise<Map<string, string>>;
  /** Resolves names or ids within a project; throws 400 naming the first that does not exist. */
  resolveSecurityGroups(auth: AuthContext, projectId: string, namesOrIds: string[]): Promise<string[]>;
  setPortSecurityGroups(portId: string, groupIds: string[]): Promise<void>;
  /** A project's security groups (the project's default one is made if missing, as Neutron does on first use). */
  listSecurityGroups(projectId: string): Promise<SecurityGroupInfo[]>;
  floatingIpsOfPorts(portIds: string[]): Promise<FloatingIpInfo[]>;
  /** The port holding `ip` on a network, or on any network attached to a router (for the metadata service). */
  findPortByAddress(where: { networkId?: string; routerId?: string }, ip: string): Promise<PortInfo | undefined>;
}

export interface ImageInfo {
  id: string;
  name: string;
  status: string;
  /** MiB */
  minRam: number;
  /** GiB */
  minDisk: number;
  /** Bytes of the uploaded file, null before upload. */
  size: number | null;
  virtualSize: number | null;
  diskFormat: string | null;
  containerFormat: string | null;
  visibility: string;
  owner: string | null;
  properties: Record<string, unknown>;
}

export interface SnapshotRequest {
  id: string;
  name: string;
  ownerProjectId: string;
  instanceId: string;
  properties: Record<string, string>;
  minRam: number;
  minDisk: number;
}

export interface ImagesForCompute {
  /** The image if the caller may see it. */
  getImage(auth: AuthContext, id: string): Promise<ImageInfo | undefined>;
  /**
   * Creates the snapshot's image record at once (queued, no data), so its id
   * is valid for the client immediately; the reconciler uploads the data later.
   */
  reserveSnapshot?(auth: AuthContext, req: SnapshotRequest): Promise<void>;
  /** Removes a reserved snapshot record whose server refused the snapshot after all. */
  releaseSnapshot?(auth: AuthContext, id: string): Promise<void>;
}
