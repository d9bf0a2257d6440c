import type { Logger } from 'pino';
import type { NetworkDriver } from '../../host/network/driver.js';
import type { Db } from '../../store/db.js';
import { NetworkTopology } from '../../store/network/topology.js';
import type { Controller } from '../controller.js';
import { FloatingIpsController } from './floating-ips.controller.js';
import { NetworksController } from './networks.controller.js';
import { PortsController } from './ports.controller.js';
import { RoutersController } from './routers.controller.js';
import { SecurityGroupsController } from './security-groups.controller.js';

import type { NetworkControllerDeps } from './deps.js';

export type { NetworkControllerDeps } from './deps.js';

/**
 * The network data plane's controllers in dependency order: bridges and
 * DHCP first (ports and legs plug into bridges), security groups before
 * the ports that jump to their chains, then ports, routers (legs on
 * bridges; floating IPs to ports), and the status of unassociated floating IPs.
 */
export function networkControllers(deps: { db: Db; driver: NetworkDriver; log: Logger; onPortStatus?: NetworkControllerDeps['onPortStatus'] }): Controller[] {
  const d: NetworkControllerDeps = { topology: new NetworkTopology(deps.db), driver: deps.driver, log: deps.log, ...(deps.onPortStatus ? { onPortStatus: deps.onPortStatus } : {}) };
  return [new NetworksController(d), new SecurityGroupsController(d), new PortsController(d), new RoutersController(d), new FloatingIpsController(d)];
}
