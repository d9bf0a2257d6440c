import type { Logger } from 'pino';
import type { ComputeDriver } from '../../host/compute/driver.js';
import type { ComputeCore } from '../../core/compute/service.js';
import type { Controller } from '../controller.js';
import { ServerController } from './server.controller.js';
import type { BindingFor, ComputeImages } from './spec.js';

export { ServerController, faultOf, BINDING_WAIT_MS, type ServerControllerDeps } from './server.controller.js';
export { buildSpec, type BindingFor, type BootImage, type ComputeImages, type SnapshotUpload } from './spec.js';
export { computeImagesFrom } from './images.js';

/** The compute data plane's controllers: servers (QEMU follows the Nova model). */
export function computeControllers(deps: { core: ComputeCore; driver: ComputeDriver; bindingFor: BindingFor; images: ComputeImages; log: Logger; scratchDir?: string }): Controller[] {
  return [new ServerController(deps)];
}
