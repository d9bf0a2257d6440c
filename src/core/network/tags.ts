import type { ChangeKind } from '../../store/changes.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError, notFound } from '../errors.js';
import { owns, type Caller } from './access.js';
import { stamp, type NetCore, networkVisible } from './core.js';
import { floatingIpNotFound, invalidAttr, networkNotFound, policyNotAuthorized, portNotFound, routerNotFound, securityGroupNotFound, subnetNotFound, tagNotFound } from './errors.js';

/** Neutron's standard-attr-tag: tags on networks, subnets, ports, routers, floating IPs and security groups. */

export const TAGGABLE = ['networks', 'subnets', 'ports', 'routers', 'floatingips', 'security-groups'] as const;
export type Taggable = (typeof TAGGABLE)[number];

export const MAX_TAGS = 50;
const MAX_TAG_LEN = 255;

interface Target {
  projectId: string;
  kind: ChangeKind;
  touch: (at: string) => Promise<void>;
}

async function targetOf(r: NetworkRepos, c: Caller, type: Taggable, id: string): Promise<Target> {
  switch (type) {
    case 'networks': {
      const n = await r.networks.get(id);
      if (!n || !networkVisible(c, n)) throw networkNotFound(id);
      return { projectId: n.project_id, kind: 'network', touch: (at) => r.networks.touch(id, at) };
    }
    case 'subnets': {
      const s = await r.networks.getSubnet(id);
      const n = s ? await r.networks.get(s.network_id) : undefined;
      if (!s || !n || !(owns(c, s.project_id) || n.shared === 1)) throw subnetNotFound(id);
      return { projectId: s.project_id, kind: 'subnet', touch: (at) => r.networks.touchSubnet(id, at) };
    }
    case 'ports': {
      const p = await r.ports.get(id);
      if (!p || !owns(c, p.project_id)) throw portNotFound(id);
      return { projectId: p.project_id, kind: 'port', touch: (at) => r.ports.touch(id, at) };
    }
    case 'routers': {
      const x = await r.routers.get(id);
      if (!x || !owns(c, x.project_id)) throw routerNotFound(id);
      return { projectId: x.project_id, kind: 'router', touch: (at) => r.routers.touch(id, at) };
    }
    case 'floatingips': {
      const f = await r.routers.getFloatingIp(id);
      if (!f || !owns(c, f.project_id)) throw floatingIpNotFound(id);
      return { projectId: f.project_id, kind: 'floatingip', touch: (at) => r.routers.touchFloatingIp(id, at) };
    }
    case 'security-groups': {
      const g = await r.secgroups.get(id);
      if (!g || !owns(c, g.project_id)) throw securityGroupNotFound(id);
      return { projectId: g.project_id, kind: 'security_group', touch: (at) => r.secgroups.touch(id, at) };
    }
  }
}

export function parseTaggable(s: string): Taggable {
  if ((TAGGABLE as readonly string[]).includes(s)) return s as Taggable;
  throw notFound(`The resource could not be found: ${s} cannot carry tags (taggable: ${TAGGABLE.join(', ')}).`);
}

export function checkTag(tag: string): string {
  if (tag.length === 0 || tag.length > MAX_TAG_LEN || /[,/]/.test(tag)) {
    throw invalidAttr('tags', `'${tag}' is not a valid tag: 1 to ${MAX_TAG_LEN} characters, without ',' or '/'`);
  }
  return tag;
}

export function checkTags(tags: string[]): string[] {
  if (tags.length > MAX_TAGS) {
    throw new CloudError('BadRequest', `The number of tags exceeds the limit ${MAX_TAGS}.`, { type: 'InvalidInput' });
  }
  return [...new Set(tags.map(checkTag))];
}

export async function listTags(core: NetCore, c: Caller, type: Taggable, id: string): Promise<string[]> {
  const r = core.store.read;
  await targetOf(r, c, type, id);
  return (await r.meta.tagsOf([id])).get(id) ?? [];
}

export async function hasTag(core: NetCore, c: Caller, type: Taggable, id: string, tag: string): Promise<void> {
  const tags = await listTags(core, c, type, id);
  if (!tags.includes(tag)) throw tagNotFound(id, tag);
}

async function writeTags(core: NetCore, c: Caller, type: Taggable, id: string, fn: (r: NetworkRepos) => Promise<boolean>): Promise<string[]> {
  return core.store.write(async (r, batch) => {
    const t = await targetOf(r, c, type, id);
    if (!owns(c, t.projectId)) throw policyNotAuthorized(`update_${type.replace(/s$/, '').replace('-', '_')}:tags`);
    if (await fn(r)) {
      await t.touch(stamp());
      batch.add(t.kind, id, 'update');
    }
    return (await r.meta.tagsOf([id])).get(id) ?? [];
  });
}

export function replaceTags(core: NetCore, c: Caller, type: Taggable, id: string, tags: string[]): Promise<string[]> {
  const clean = checkTags(tags);
  return writeTags(core, c, type, id, async (r) => {
    await r.meta.setTags(type, id, clean);
    return true;
  });
}

export function addTag(core: NetCore, c: Caller, type: Taggable, id: string, tag: string): Promise<string[]> {
  checkTag(tag);
  return writeTags(core, c, type, id, async (r) => {
    const have = (await r.meta.tagsOf([id])).get(id) ?? [];
    if (!have.includes(tag) && have.length >= MAX_TAGS) {
      throw new CloudError('BadRequest', `The number of tags exceeds the limit ${MAX_TAGS}.`, { type: 'InvalidInput' });
    }
    return r.meta.addTag(type, id, tag);
  });
}

export function removeTag(core: NetCore, c: Caller, type: Taggable, id: string, tag: string): Promise<string[]> {
  return writeTags(core, c, type, id, async (r) => {
    if (!(await r.meta.removeTag(id, tag))) throw tagNotFound(id, tag);
    return true;
  });
}

export function clearTags(core: NetCore, c: Caller, type: Taggable, id: string): Promise<string[]> {
  return writeTags(core, c, type, id, async (r) => {
    await r.meta.clearTags(id);
    return true;
  });
}
