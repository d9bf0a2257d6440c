import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { AuthContext } from '../core/auth.js';
import { CloudError } from '../core/errors.js';
import type { CloudContext, ServicePlugin } from './context.js';
import { sendError } from './errors.js';
import { registerDashboard, type SpaFallback } from './dashboard/plugin.js';
import { frameworkErrorHandler, rejectDeepJson } from './guards.js';
import { validatorCompiler, warmValidators } from './validation.js';
import { VERSION } from '../version.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The validated token's context; absent on public routes called without a token. */
    auth?: AuthContext;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (version documents, token creation, health). */
    public?: boolean;
  }
}

export { VERSION };

export interface ServerOptions {
  /** Largest JSON body accepted (image uploads stream and are not bound by it). */
  bodyLimit?: number;
  /** The built dashboard (dashboard/dist), served at `/`; none when absent. */
  dashboardDir?: string;
  /** Health of the parts beyond the API (the data plane), for /healthz and `stacklet status`. */
  health?: () => Record<string, unknown>;
}

/**
 * The one HTTP server: every OpenStack service is a plugin under its own
 * prefix, with its own error body. Tokens are validated once per request
 * here, before any handler runs.
 */
export async function buildServer(ctx: CloudContext, plugins: ServicePlugin[], opts: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    genReqId: () => `req-${randomUUID()}`,
    return503OnClosing: true,
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    frameworkErrors: frameworkErrorHandler(plugins, (e) => ({ error: { code: e.status, message: e.message } })),
    // Fastify's two info lines per request cost about an eighth of the CPU of a
    // small authenticated GET; one line at debug (onResponse below) says the same.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('onListen', async () => warmValidators((err) => ctx.log.error({ err }, 'a request schema does not compile')));
  app.decorateRequest('auth', undefined);

  app.addHook('preValidation', rejectDeepJson);
  app.addHook('onResponse', async (req, reply) => {
    if (ctx.log.isLevelEnabled('debug')) {
      req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    }
  });
  app.addHook('onSend', async (req, reply) => {
    void reply.header('x-openstack-request-id', req.id);
  });

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err, (e) => ({ error: { code: e.status, message: e.message } })));
  const spa: SpaFallback | undefined = opts.dashboardDir
    ? await registerDashboard(app, opts.dashboardDir, ['/healthz', ...plugins.map((p) => p.prefix)])
    : undefined;
  app.setNotFoundHandler((req, reply) =>
    spa?.(req, reply) ??
    sendError(req, reply, new CloudError('NotFound', `No such path: ${req.method} ${req.url.split('?')[0] ?? ''}`), (e) => ({
      error: { code: e.status, message: e.message },
    })),
  );

  app.get('/healthz', { config: { public: true } }, async () => ({
    status: 'ok',
    version: VERSION,
    started_at: ctx.startedAt.toISOString(),
    services: plugins.flatMap((p) => (p.catalogPath === undefined ? [] : [{ type: p.type, url: `${ctx.baseUrl}${p.catalogPath}` }])),
    ...(opts.health ? opts.health() : {}),
  }));

  for (const plugin of plugins) {
    await app.register(
      async (scope) => {
        scope.setErrorHandler((err, req, reply) => sendError(req, reply, err, plugin.renderError));
        scope.setNotFoundHandler((req, reply) =>
          sendError(req, reply, new CloudError('NotFound', `The resource could not be found: ${req.method} ${req.url.split('?')[0] ?? ''}`), plugin.renderError),
        );
        scope.addHook('preHandler', async (req) => authenticate(ctx, req));
        await plugin.register(scope, ctx);
      },
      { prefix: plugin.prefix },
    );
  }
  return app;
}

async function authenticate(ctx: CloudContext, req: FastifyRequest): Promise<void> {
  const header = req.headers['x-auth-token'];
  const token = Array.isArray(header) ? header[0] : header;
  const isPublic = req.routeOptions.config.public === true;
  if (!token) {
    if (!isPublic) throw new CloudError('Unauthorized', 'The request you have made requires authentication: send a token in X-Auth-Token.');
    return;
  }
  try {
    req.auth = await ctx.identity.validate(token);
  } catch (err) {
    if (!isPublic) throw err;
  }
}
