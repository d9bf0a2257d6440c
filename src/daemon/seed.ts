import type { FastifyInstance } from 'fastify';
import type { AuthContext } from '../core/auth.js';
import { createImageFromFile } from '../core/image/index.js';
import type { IdentityService } from '../core/identity/service.js';
import type { BootstrapSecrets } from '../core/identity/bootstrap.js';
import { buildTinyGuest } from '../host/image/tiny/index.js';
import type { CloudContext } from '../api/context.js';

/**
 * The first start's cloud, ready to use: the seed's topology (external
 * network `public` 172.24.4.0/24 with a floating-IP pool, the demo
 * project's `private` 10.0.0.0/24, `router1` between them), the tiny guest
 * as public image `cirros`, and ICMP and SSH allowed into the demo project's
 * default security group (DevStack leaves them closed, and people then
 * wonder why ping fails). Everything goes through the public APIs as the
 * admin and demo users, exactly as a person with the CLI would do it, so the
 * seed obeys every rule a user does. Each part runs once (a marker in the
 * store) and can be skipped.
 */

const NETWORK_DONE = 'seed.network';
const IMAGE_DONE = 'seed.image';

export interface SeedOptions {
  network: boolean;
  image: boolean;
  /** Where the tiny guest is built and cached (shared by every data dir). */
  tinyCacheDir: string;
}

export const DEFAULT_TINY_CACHE = process.env['STACKLET_TINY_CACHE'] ?? '/var/cache/stacklet/tiny-guest';

class SeedError extends Error {
  override name = 'SeedError';
}

async function call(app: FastifyInstance, token: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Record<string, unknown>> {
  const res = await app.inject({ method, url, headers: { 'x-auth-token': token, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
  if (res.statusCode >= 300) throw new SeedError(`${method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
  return res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {};
}

async function login(identity: IdentityService, user: string, password: string): Promise<AuthContext> {
  const { ctx } = await identity.authenticate({
    identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
    scope: { project: { name: user, domain: { id: 'default' } } },
  });
  return ctx;
}

const idOf = (body: Record<string, unknown>, key: string): string => {
  const o = body[key] as { id?: unknown } | undefined;
  if (typeof o?.id !== 'string') throw new SeedError(`no ${key}.id in the answer`);
  return o.id;
};

export async function seedCloud(ctx: CloudContext, app: FastifyInstance, secrets: BootstrapSecrets, opts: SeedOptions, step: (s: string) => void): Promise<void> {
  const repo = ctx.identity.repo;
  const admin = await login(ctx.identity, 'admin', secrets.adminPassword);
  const demo = await login(ctx.identity, 'demo', secrets.demoPassword);

  if (opts.network && !(await repo.getMeta(NETWORK_DONE))) {
    const net = '/network/v2.0';
    const pub = idOf(
      await call(app, admin.token, 'POST', `${net}/networks`, {
        network: { name: 'public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'public', description: 'External network: floating IPs come from here' },
      }),
      'network',
    );
    await call(app, admin.token, 'POST', `${net}/subnets`, {
      subnet: {
        name: 'public-subnet',
        network_id: pub,
        ip_version: 4,
        cidr: '172.24.4.0/24',
        gateway_ip: '172.24.4.1',
        enable_dhcp: false,
        allocation_pools: [{ start: '172.24.4.10', end: '172.24.4.254' }],
      },
    });
    step('seed: external network public 172.24.4.0/24 (gateway 172.24.4.1 on this host, floating IPs 172.24.4.10-254)');
    const priv = idOf(await call(app, demo.token, 'POST', `${net}/networks`, { network: { name: 'private' } }), 'network');
    const subnet = idOf(
      await call(app, demo.token, 'POST', `${net}/subnets`, { subnet: { name: 'private-subnet', network_id: priv, ip_version: 4, cidr: '10.0.0.0/24' } }),
      'subnet',
    );
    const router = idOf(
      await call(app, demo.token, 'POST', `${net}/routers`, { router: { name: 'router1', external_gateway_info: { network_id: pub } } }),
      'router',
    );
    await call(app, demo.token, 'PUT', `${net}/routers/${router}/add_router_interface`, { subnet_id: subnet });
    step('seed: demo network private 10.0.0.0/24 and router1 joining it to public');
    const groups = (await call(app, demo.token, 'GET', `${net}/security-groups?name=default&project_id=${demo.projectId ?? ''}`))['security_groups'] as { id: string }[];
    const sg = groups[0]?.id;
    if (!sg) throw new SeedError('the demo project has no default security group');
    for (const rule of [
      { protocol: 'icmp', direction: 'ingress', ethertype: 'IPv4', remote_ip_prefix: '0.0.0.0/0' },
      { protocol: 'tcp', direction: 'ingress', ethertype: 'IPv4', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' },
    ]) {
      await call(app, demo.token, 'POST', `${net}/security-group-rules`, { security_group_rule: { security_group_id: sg, ...rule } });
    }
    step('seed: demo default security group allows ping (ICMP) and SSH (tcp/22) in from anywhere');
    await repo.setMeta(NETWORK_DONE, new Date().toISOString());
  }

  if (opts.image && !(await repo.getMeta(IMAGE_DONE))) {
    step(`seed: building the tiny guest image (cached in ${opts.tinyCacheDir}; the first build fetches Debian packages)`);
    const tiny = await buildTinyGuest({ cacheDir: opts.tinyCacheDir, onProgress: (s) => step(`  tiny guest: ${s}`) });
    const id = await createImageFromFile(ctx, {
      name: 'cirros',
      diskFormat: tiny.diskFormat,
      containerFormat: 'bare',
      visibility: 'public',
      ownerProjectId: admin.projectId ?? null,
      minRam: 128,
      properties: { os_distro: 'stacklet-tiny', os_type: 'linux', hw_disk_bus: 'virtio', hw_vif_model: 'virtio', kernel_release: tiny.kernelRelease },
      path: tiny.disk,
    });
    step(`seed: public image cirros (${id}; login cirros with your key pair, ${Math.round(tiny.sizes.disk / 1024 / 1024)} MiB)`);
    await repo.setMeta(IMAGE_DONE, new Date().toISOString());
  }
}


