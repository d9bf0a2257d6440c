import type { NetworkDriver, PortBinding } from '../../host/network/driver.js';
import type { Db } from '../../store/db.js';
import { NetworkTopology } from '../../store/network/topology.js';
import { portSpecOf } from '../network/ports.controller.js';
import type { BindingFor } from './spec.js';

/**
 * Port bindings from the network side: once the ports controller has
 * plugged a port (status ACTIVE, or administratively down but plugged),
 * the driver's idempotent ensurePort hands back its tap, bridge, MAC and
 * MTU without changing the host. Before that, undefined: the server
 * controller waits and looks again rather than racing the ports controller.
 */
export function bindingsFromNetwork(db: Db, network: NetworkDriver): BindingFor {
  const topology = new NetworkTopology(db);
  return async (portId: string): Promise<PortBinding | undefined> => {
    const d = await topology.port(portId);
    if (!d) return undefined;
    if (d.port.status !== 'ACTIVE' && d.port.admin_state_up !== 0) return undefined;
    const n = await topology.network(d.port.network_id);
    const spec = n ? portSpecOf(d, n.network) : null;
    if (!spec) return undefined;
    return (await network.ensurePort(spec)).binding;
  };
}
