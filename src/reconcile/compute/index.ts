import type { Logger } from 'pino';
import type { CloudContext } from '../../api/context.js';
import { computeCoreOf } from '../../core/compute/index.js';
import type { NetworkDriver } from '../../host/network/driver.js';
import { bindingsFromNetwork } from './bindings.js';
import { computeImagesFrom } from './images.js';
import type { ComputeDriver } from '../../host/compute/driver.js';
import type { ComputeCore } from '../../core/compute/service.js';
import type { Controller } from '../controller.js';
import { ServerController } from './server.controller.js';
import type { BindingFor, ComputeImages } from './spec.js';

export { ServerController, faultOf, BINDING_WAIT_MS, type ServerControllerDeps } from './server.controller.js';
export { buildSpec, type BindingFor, type BootImage, type ComputeImages, type SnapshotUpload } from './spec.js';
export { computeImagesFrom } from './images.js';
export { bindingsFromNetwork } from './bindings.js';

/** The compute data plane's controllers: servers (QEMU follows the Nova model). */
export function computeControllers(deps: { core: ComputeCore; driver: ComputeDriver; bindingFor: BindingFor; images: ComputeImages; log: Logger; scratchDir?: string }): Controller[] {
  return [new ServerController(deps)];
}

/**
 * The compute controllers from the data plane's parts (a ControllerFactory
 * for startDataPlane): the compute core of this cloud, the image service,
 * and port bindings from the network driver.
 */
export function computeControllersOf(parts: { ctx: CloudContext; network: NetworkDriver; compute: ComputeDriver; log: Logger }): Controller[] {
  return computeControllers({
    core: computeCoreOf(parts.ctx),
    driver: parts.compute,
    bindingFor: bindingsFromNetwork(parts.ctx.store.db, parts.network),
    images: computeImagesFrom(parts.ctx),
    log: parts.log,
  });
}
