import type { Controller } from '../controller.js';
import type { NetworkControllerDeps } from './deps.js';

/**
 * The status of floating IPs that no router carries: DOWN. Associated ones
 * are the routers controller's (ACTIVE once their router is converged); an
 * association change also wakes the routers involved.
 */
export class FloatingIpsController implements Controller {
  readonly kinds = ['floatingip'] as const;
  readonly name = 'floating-ips';

  constructor(private readonly deps: NetworkControllerDeps) {}

  async listKeys(): Promise<string[]> {
    return (await this.deps.topology.floatingIps()).filter((f) => f.router_id === null && f.status !== 'DOWN').map((f) => f.id);
  }

  keysFor(_kind: string, id: string): string[] {
    return [id];
  }

  async reconcile(id: string): Promise<void> {
    const { topology } = this.deps;
    const f = await topology.floatingIp(id);
    if (f && (f.router_id === null || f.fixed_ip_address === null) && f.status !== 'DOWN') await topology.setFloatingIpStatus(id, 'DOWN');
  }
}
