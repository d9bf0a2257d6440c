import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { IdentityService } from '../core/identity/service.js';
import type { OpenedStore } from '../store/db.js';
import type { ErrorRenderer } from './errors.js';

/** What every API plugin is handed: the config, the store and the core services. */
export interface CloudContext {
  cfg: Config;
  store: OpenedStore;
  identity: IdentityService;
  log: Logger;
  /** http://host:port, what clients reach. */
  baseUrl: string;
  startedAt: Date;
}

/** One OpenStack service served under a path prefix of the single port. */
export interface ServicePlugin {
  /** Keystone catalog type and name, e.g. "identity"/"keystone". */
  type: string;
  name: string;
  prefix: string;
  /** Path of the catalog URL below the base URL, e.g. "/compute/v2.1"; absent for Stacklet's own routes (consoles, explain), which stay out of the catalog. */
  catalogPath?: string;
  renderError: ErrorRenderer;
  register(app: FastifyInstance, ctx: CloudContext): Promise<void>;
}
