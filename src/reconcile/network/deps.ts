import type { Logger } from 'pino';
import type { NetworkDriver } from '../../host/network/driver.js';
import type { NetworkTopology } from '../../store/network/topology.js';

/** What every network controller works with. */
export interface NetworkControllerDeps {
  /** Desired state and the observed-status writers. */
  topology: NetworkTopology;
  driver: NetworkDriver;
  log: Logger;
  /**
   * Hears that a port's observed status changed (plugged and ACTIVE, or
   * DOWN): what Neutron tells Nova as network-vif-plugged, so whoever waits
   * for the port (a server about to start) looks again now instead of
   * polling.
   */
  onPortStatus?: (port: { id: string; deviceOwner: string; deviceId: string; status: string }) => void;
}
