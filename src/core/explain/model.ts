/**
 * What the reachability check looks at: a small, read-only picture of the
 * servers and the network around them, built by the API layer from the
 * Nova and Neutron stores. The check itself (explain.ts) is a pure function
 * of this picture, so it is tested with plain fixtures.
 */

export type Protocol = 'icmp' | 'tcp' | 'udp';

/** What the caller wants to reach: protocol and (tcp/udp) destination port. */
export interface Probe {
  protocol: Protocol;
  port?: number;
}

export interface XServer {
  id: string;
  name: string;
  /** Nova's status: ACTIVE, BUILD, SHUTOFF, ERROR... */
  status: string;
  fault?: string;
}

export interface XPort {
  id: string;
  networkId: string;
  fixedIps: { subnetId: string; ip: string }[];
  securityGroupIds: string[];
  portSecurityEnabled: boolean;
  adminStateUp: boolean;
}

export interface XNetwork {
  id: string;
  name: string;
  external: boolean;
  adminStateUp: boolean;
}

export interface XSubnet {
  id: string;
  name: string;
  networkId: string;
  cidr: string;
  gatewayIp: string | null;
}

export interface XRouter {
  id: string;
  name: string;
  adminStateUp: boolean;
  /** The external network its gateway is on, if any. */
  gatewayNetworkId: string | null;
  /** Subnets it has an interface on (its router_interface ports). */
  interfaceSubnetIds: string[];
}

export interface XFloatingIp {
  id: string;
  address: string;
  networkId: string;
  portId: string | null;
  fixedIp: string | null;
  routerId: string | null;
}

export interface XRule {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** Name or number as stored; null = any. */
  protocol: string | null;
  portMin: number | null;
  portMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
}

export interface XSecurityGroup {
  id: string;
  name: string;
  rules: XRule[];
}

/** One end of the path: an instance with its ports. */
export interface XEndpoint {
  server: XServer;
  ports: XPort[];
}

/** Everything the check may need; lookups by id go through these lists. */
export interface ExplainWorld {
  target: XEndpoint;
  /** 'host' = the cloud's host, reaching in through a floating IP. */
  source: 'host' | XEndpoint;
  networks: XNetwork[];
  subnets: XSubnet[];
  routers: XRouter[];
  floatingIps: XFloatingIp[];
  securityGroups: XSecurityGroup[];
}

export interface ExplainStep {
  check: string;
  ok: boolean;
  detail: string;
}

/** The answer: every step walked, and the first thing that blocks with its fix. */
export interface Explanation {
  reachable: boolean;
  steps: ExplainStep[];
  blocker?: { message: string; fix: string };
}
