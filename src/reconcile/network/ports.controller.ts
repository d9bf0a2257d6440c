import type { PortSpec } from '../../host/network/driver.js';
import type { NetworkRow } from '../../store/network/networks.repo.js';
import type { PortDetail } from '../../store/network/topology.js';
import type { Controller } from '../controller.js';
import type { NetworkControllerDeps } from './deps.js';
import { isServicePort, plugOf, unownedKeys } from './specs.js';

/** How often a port whose device is made by someone else is looked at until the device exists. */
const DEVICE_POLL_MS = 1_000;

/** The host's view of an instance-like port; null when the port is not plugged (unbound or a service port). */
export function portSpecOf(d: PortDetail, network: NetworkRow): PortSpec | null {
  const plug = plugOf(d.port);
  if (plug === null) return null;
  return {
    portId: d.port.id,
    networkId: d.port.network_id,
    mac: d.port.mac_address,
    fixedIps: d.fixedIps.map((f) => f.ip_address),
    portSecurity: d.port.port_security_enabled === 1,
    securityGroupIds: [...d.securityGroupIds].sort(),
    allowedAddressPairs: d.allowedAddressPairs.map((a) => ({ ipAddress: a.ip_address, macAddress: a.mac_address || null })),
    mtu: network.mtu,
    plug,
  };
}

/**
 * Ports of instances and test machines: a tap (or the filtering of a
 * device someone else makes) on the network's bridge, and the port's status
 * (ACTIVE once plugged and administratively up, DOWN otherwise). Router
 * legs and DHCP ports belong to the routers and networks controllers.
 */
export class PortsController implements Controller {
  readonly kinds = ['port'] as const;
  readonly name = 'ports';
  /** Different objects converge side by side: each has its own host objects, and the shared nft tables serialize their own changes. */
  readonly concurrency = 4;

  constructor(private readonly deps: NetworkControllerDeps) {}

  async listKeys(): Promise<string[]> {
    return (await this.deps.topology.ports()).filter((d) => !isServicePort(d.port.device_owner)).map((d) => d.port.id);
  }

  keysFor(_kind: string, id: string): string[] {
    return [id];
  }

  async reconcile(id: string): Promise<{ requeueAfterMs: number } | void> {
    const { topology, driver } = this.deps;
    const d = await topology.port(id);
    if (!d) {
      await driver.removePort(id);
      return;
    }
    // Legs are removed by their router/DHCP: removePort would also take a leg with this key.
    if (isServicePort(d.port.device_owner)) return;
    const n = await topology.network(d.port.network_id);
    const spec = n ? portSpecOf(d, n.network) : null;
    if (!spec) {
      await driver.removePort(id);
      if (d.port.status !== 'DOWN') await topology.setPortStatus(id, 'DOWN');
      return;
    }
    const r = await driver.ensurePort(spec);
    const status = d.port.admin_state_up === 1 ? 'ACTIVE' : 'DOWN';
    if (d.port.status !== status) {
      await topology.setPortStatus(id, status);
      this.deps.onPortStatus?.({ id, deviceOwner: d.port.device_owner, deviceId: d.port.device_id, status });
    }
    // A device someone else makes (a test machine's veth) may appear at any time: look again soon rather than at the next resync.
    if (r.waiting) return { requeueAfterMs: DEVICE_POLL_MS };
  }

  /** Taps and port filtering whose port no longer exists or is no longer plugged. */
  async collectGarbage(): Promise<void> {
    const { topology, driver, log } = this.deps;
    const inv = await driver.inventory();
    const plugged = (await topology.ports()).filter((d) => plugOf(d.port) !== null).map((d) => d.port.id);
    for (const key of unownedKeys([...new Set([...inv.taps, ...inv.filteredPorts])], plugged)) {
      log.info({ key }, 'removing the tap and filtering of a port that is no longer plugged');
      await driver.removePort(key);
    }
  }
}
