import type { Logger } from 'pino';
import type { NetworkDriver } from '../../host/network/driver.js';
import type { NetworkTopology } from '../../store/network/topology.js';

/** What every network controller works with. */
export interface NetworkControllerDeps {
  /** Desired state and the observed-status writers. */
  topology: NetworkTopology;
  driver: NetworkDriver;
  log: Logger;
}
