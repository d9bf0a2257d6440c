import type { IdentityRepo } from '../../store/identity/repo.js';
import { hexId, nowIso } from '../ids.js';
import { hashSecret } from './passwords.js';
import { ADMIN_ROLE, MEMBER_ROLE, READER_ROLE } from './service.js';

export interface BootstrapSecrets {
  adminPassword: string;
  demoPassword: string;
}

export interface CatalogService {
  type: string;
  name: string;
  /** Full URL, may hold $(project_id)s. */
  url: string;
}

const BOOTSTRAPPED = 'identity.bootstrapped';

/**
 * First start: the Default domain, the three default roles (admin ⇒ member ⇒
 * reader), the admin and demo projects and users, and the region. Idempotent:
 * later starts find the marker and change nothing.
 */
export async function bootstrapIdentity(repo: IdentityRepo, secrets: BootstrapSecrets, region: string, hashCost: number): Promise<boolean> {
  if (await repo.getMeta(BOOTSTRAPPED)) return false;
  const now = nowIso();
  if (!(await repo.getDomain('default'))) {
    await repo.insertDomain({ id: 'default', name: 'Default', description: 'The default domain', enabled: 1, extra: '{}', created_at: now });
  }
  const roleIds: Record<string, string> = {};
  for (const name of [ADMIN_ROLE, MEMBER_ROLE, READER_ROLE]) {
    const existing = await repo.getRoleByName(name);
    const id = existing?.id ?? hexId();
    if (!existing) await repo.insertRole({ id, name, domain_id: '', description: '', created_at: now });
    roleIds[name] = id;
  }
  const id = (n: string) => roleIds[n] as string;
  await repo.insertImplied(id(ADMIN_ROLE), id(MEMBER_ROLE));
  await repo.insertImplied(id(MEMBER_ROLE), id(READER_ROLE));

  const people: [string, string, string, string][] = [
    ['admin', 'admin', secrets.adminPassword, ADMIN_ROLE],
    ['demo', 'demo', secrets.demoPassword, MEMBER_ROLE],
  ];
  for (const [projectName, userName, password, role] of people) {
    let project = await repo.getProjectByName('default', projectName);
    if (!project) {
      project = {
        id: hexId(),
        name: projectName,
        domain_id: 'default',
        parent_id: null,
        description: projectName === 'admin' ? 'Bootstrap project for administrators' : 'The demo project',
        enabled: 1,
        tags: '[]',
        extra: '{}',
        created_at: now,
      };
      await repo.insertProject(project);
    }
    let user = await repo.getUserByName('default', userName);
    if (!user) {
      user = {
        id: hexId(),
        name: userName,
        domain_id: 'default',
        default_project_id: project.id,
        description: '',
        email: null,
        enabled: 1,
        password_hash: await hashSecret(password, hashCost),
        password_expires_at: null,
        extra: '{}',
        created_at: now,
      };
      await repo.insertUser(user);
    }
    await repo.grant({ actor_type: 'user', actor_id: user.id, target_type: 'project', target_id: project.id, role_id: id(role), inherited: 0 });
  }
  if (!(await repo.getRegion(region))) {
    await repo.insertRegion({ id: region, description: '', parent_region_id: null, created_at: now });
  }
  await repo.setMeta(BOOTSTRAPPED, now);
  return true;
}

/**
 * Keeps the catalog's Stacklet-owned services and endpoints in step with what
 * this process serves and where (the listen address may change between
 * starts). Services an admin added by hand are left alone.
 */
export async function syncCatalog(repo: IdentityRepo, region: string, services: CatalogService[]): Promise<void> {
  const now = nowIso();
  if (!(await repo.getRegion(region))) await repo.insertRegion({ id: region, description: '', parent_region_id: null, created_at: now });
  const existing = (await repo.listServices({})).filter((s) => s.managed === 1);
  for (const svc of services) {
    let row = existing.find((s) => s.type === svc.type);
    if (!row) {
      row = { id: hexId(), type: svc.type, name: svc.name, description: `Stacklet ${svc.type} service`, enabled: 1, managed: 1, created_at: now };
      await repo.insertService(row);
    }
    const eps = await repo.listEndpoints({ serviceId: row.id });
    for (const iface of ['public', 'internal', 'admin']) {
      const ep = eps.find((e) => e.interface === iface);
      if (!ep) {
        await repo.insertEndpoint({ id: hexId(), service_id: row.id, interface: iface, url: svc.url, region_id: region, enabled: 1, created_at: now });
      } else if (ep.url !== svc.url || ep.region_id !== region) {
        await repo.updateEndpoint(ep.id, { url: svc.url, region_id: region });
      }
    }
  }
  for (const s of existing) {
    if (!services.some((svc) => svc.type === s.type)) await repo.deleteService(s.id);
  }
}
