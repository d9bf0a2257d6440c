import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { ListRequest, ListSortKey, ListTimeOp } from '../../core/image/list-query.js';
import type { Image, ImageBase, ImageMember, ImageStatus, MemberStatus, Viewer, Visibility } from '../../core/image/types.js';
import type { Db } from '../db.js';
import type { Database } from '../schema.js';
import type { ImageTable } from './schema.js';

type SortKey = ListSortKey;

/** Everything an image list can ask for, already validated, with the marker resolved to its image. */
export interface ImageListQuery extends Omit<ListRequest, 'marker'> {
  viewer: Viewer;
  /** The image the previous page ended with. */
  marker?: ImageBase;
}

type Eb = ExpressionBuilder<Database, 'images'>;

const NULLABLE_TEXT = new Set<SortKey>(['name', 'container_format', 'disk_format']);

/** Sort/compare expression for a key: NULLs as '' (text) or -1 (size) so keyset paging stays total. */
function sortExpr(key: SortKey): Expression<string | number> {
  if (NULLABLE_TEXT.has(key)) return sql<string>`coalesce(${sql.ref(`images.${key}`)}, '')`;
  if (key === 'size') return sql<number>`coalesce(images.size, -1)`;
  return sql.ref<string>(`images.${key}`);
}

function markerValue(key: SortKey, m: ImageBase): string | number {
  const v = m[key];
  if (v === null || v === undefined) return key === 'size' ? -1 : '';
  return v;
}

function toBase(r: ImageTable): ImageBase {
  return {
    ...r,
    status: r.status as ImageStatus,
    visibility: r.visibility as Visibility,
    protected: r.protected === 1,
    os_hidden: r.os_hidden === 1,
  };
}

/** The columns of ImageBase as a row. */
function toRow(b: ImageBase): ImageTable {
  return {
    id: b.id,
    name: b.name,
    owner: b.owner,
    status: b.status,
    visibility: b.visibility,
    protected: b.protected ? 1 : 0,
    os_hidden: b.os_hidden ? 1 : 0,
    disk_format: b.disk_format,
    container_format: b.container_format,
    size: b.size,
    virtual_size: b.virtual_size,
    checksum: b.checksum,
    os_hash_algo: b.os_hash_algo,
    os_hash_value: b.os_hash_value,
    min_disk: b.min_disk,
    min_ram: b.min_ram,
    created_at: b.created_at,
    updated_at: b.updated_at,
  };
}

/** Patchable columns of an image row. */
export type ImageRowPatch = Partial<Omit<ImageTable, 'id' | 'created_at'>>;

/** Glance's tables. Every method is one statement or one transaction. */
export class ImageRepo {
  constructor(readonly db: Db) {}

  async insert(image: Image): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('images').values(toRow(image)).execute();
      const props = Object.entries(image.properties).map(([name, value]) => ({ image_id: image.id, name, value }));
      if (props.length) await trx.insertInto('image_properties').values(props).execute();
      if (image.tags.length) await trx.insertInto('image_tags').values(image.tags.map((tag) => ({ image_id: image.id, tag }))).execute();
    });
  }

  async exists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('images').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  async get(id: string): Promise<Image | undefined> {
    const row = await this.db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const [withExtras] = await this.attachExtras([toBase(row)]);
    return withExtras;
  }

  private async attachExtras(bases: ImageBase[]): Promise<Image[]> {
    if (bases.length === 0) return [];
    const ids = bases.map((b) => b.id);
    const props = await this.db.selectFrom('image_properties').selectAll().where('image_id', 'in', ids).orderBy('name').execute();
    const tags = await this.db.selectFrom('image_tags').selectAll().where('image_id', 'in', ids).orderBy('tag').execute();
    const byId = new Map<string, Image>(bases.map((b) => [b.id, { ...b, properties: {}, tags: [] }]));
    for (const p of props) {
      const img = byId.get(p.image_id);
      if (img) img.properties[p.name] = p.value;
    }
    for (const t of tags) byId.get(t.image_id)?.tags.push(t.tag);
    return bases.map((b) => byId.get(b.id)).filter((i): i is Image => i !== undefined);
  }

  /** One page of images the viewer may list, in the asked order. */
  async list(q: ImageListQuery): Promise<Image[]> {
    let query = this.db.selectFrom('images').selectAll('images');
    query = query.where((eb) => this.visibleTo(eb, q));
    query = query.where('os_hidden', '=', q.hidden ? 1 : 0);
    if (q.ids) query = query.where('id', 'in', q.ids.length ? q.ids : ['']);
    if (q.names) query = query.where('name', 'in', q.names.length ? q.names : ['']);
    if (q.statuses) query = query.where('status', 'in', q.statuses.length ? q.statuses : ['']);
    if (q.diskFormats) query = query.where('disk_format', 'in', q.diskFormats.length ? q.diskFormats : ['']);
    if (q.containerFormats) query = query.where('container_format', 'in', q.containerFormats.length ? q.containerFormats : ['']);
    if (q.owner !== undefined) query = query.where('owner', '=', q.owner);
    if (q.sizeMin !== undefined) query = query.where('size', '>=', q.sizeMin);
    if (q.sizeMax !== undefined) query = query.where('size', '<=', q.sizeMax);
    if (q.protected !== undefined) query = query.where('protected', '=', q.protected ? 1 : 0);
    for (const tag of q.tags) {
      query = query.where((eb) =>
        eb.exists(eb.selectFrom('image_tags').select('image_tags.tag').whereRef('image_tags.image_id', '=', 'images.id').where('image_tags.tag', '=', tag)),
      );
    }
    for (const [name, value] of Object.entries(q.properties)) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('image_properties')
            .select('image_properties.name')
            .whereRef('image_properties.image_id', '=', 'images.id')
            .where('image_properties.name', '=', name)
            .where('image_properties.value', '=', value),
        ),
      );
    }
    const cmp: Record<ListTimeOp, '>' | '>=' | '<' | '<=' | '=' | '!='> = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', neq: '!=' };
    for (const t of q.times) query = query.where(t.column, cmp[t.op], t.value);

    const sort = [...q.sort];
    const dir0 = sort[0]?.dir ?? 'desc';
    if (!sort.some((s) => s.key === 'created_at')) sort.push({ key: 'created_at', dir: dir0 });
    if (!sort.some((s) => s.key === 'id')) sort.push({ key: 'id', dir: dir0 });
    const marker = q.marker;
    if (marker) {
      query = query.where((eb) =>
        eb.or(
          sort.map((s, i) =>
            eb.and([
              ...sort.slice(0, i).map((p) => eb(sortExpr(p.key), '=', markerValue(p.key, marker))),
              eb(sortExpr(s.key), s.dir === 'asc' ? '>' : '<', markerValue(s.key, marker)),
            ]),
          ),
        ),
      );
    }
    for (const s of sort) query = query.orderBy(sortExpr(s.key), s.dir);
    const rows = await query.limit(q.limit).execute();
    return this.attachExtras(rows.map(toBase));
  }

  private visibleTo(eb: Eb, q: ImageListQuery): Expression<SqlBool> {
    const v = q.visibility;
    const P = q.viewer.projectId ?? '';
    if (q.viewer.isAdmin) {
      return v === undefined || v === 'all' ? sql<SqlBool>`1 = 1` : eb('visibility', '=', v);
    }
    const member = () => {
      let sub = eb.selectFrom('image_members').select('image_members.member').whereRef('image_members.image_id', '=', 'images.id').where('image_members.member', '=', P);
      if (q.memberStatus !== 'all') sub = sub.where('image_members.status', '=', q.memberStatus);
      return eb.and([eb('visibility', '=', 'shared'), eb.exists(sub)]);
    };
    const own = eb('owner', '=', P);
    switch (v) {
      case 'public':
      case 'community':
        return eb('visibility', '=', v);
      case 'private':
        return eb.and([eb('visibility', '=', 'private'), own]);
      case 'shared':
        return eb.and([eb('visibility', '=', 'shared'), eb.or([own, member()])]);
      case 'all':
        return eb.or([eb('visibility', 'in', ['public', 'community']), own, member()]);
      default:
        return eb.or([eb('visibility', '=', 'public'), own, member()]);
    }
  }

  /** Writes changed columns and, when given, the whole set of properties or tags; bumps updated_at. */
  async update(id: string, patch: ImageRowPatch, properties?: Record<string, string>, tags?: string[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('images').set(patch).where('id', '=', id).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      if (properties) {
        await trx.deleteFrom('image_properties').where('image_id', '=', id).execute();
        const rows = Object.entries(properties).map(([name, value]) => ({ image_id: id, name, value }));
        if (rows.length) await trx.insertInto('image_properties').values(rows).execute();
      }
      if (tags) {
        await trx.deleteFrom('image_tags').where('image_id', '=', id).execute();
        if (tags.length) await trx.insertInto('image_tags').values(tags.map((tag) => ({ image_id: id, tag }))).execute();
      }
      return true;
    });
  }

  /** Moves an image from one of `from` to another status (with extra columns); false when it was not in `from`. */
  async transition(id: string, from: ImageStatus[], patch: ImageRowPatch & { status: ImageStatus }): Promise<boolean> {
    const r = await this.db.updateTable('images').set(patch).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('images').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async addTag(id: string, tag: string, updatedAt: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('image_tags')
        .values({ image_id: id, tag })
        .onConflict((oc) => oc.doNothing())
        .execute();
      await trx.updateTable('images').set({ updated_at: updatedAt }).where('id', '=', id).execute();
    });
  }

  async removeTag(id: string, tag: string, updatedAt: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('image_tags').where('image_id', '=', id).where('tag', '=', tag).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await trx.updateTable('images').set({ updated_at: updatedAt }).where('id', '=', id).execute();
      return true;
    });
  }

  // --- members
  async getMember(imageId: string, member: string): Promise<ImageMember | undefined> {
    const r = await this.db.selectFrom('image_members').selectAll().where('image_id', '=', imageId).where('member', '=', member).executeTakeFirst();
    return r ? { ...r, status: r.status as MemberStatus } : undefined;
  }

  async listMembers(imageId: string): Promise<ImageMember[]> {
    const rows = await this.db.selectFrom('image_members').selectAll().where('image_id', '=', imageId).orderBy('created_at').orderBy('member').execute();
    return rows.map((r) => ({ ...r, status: r.status as MemberStatus }));
  }

  async countMembers(imageId: string): Promise<number> {
    const r = await this.db.selectFrom('image_members').select((eb) => eb.fn.countAll<number>().as('n')).where('image_id', '=', imageId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async insertMember(m: ImageMember): Promise<void> {
    await this.db.insertInto('image_members').values(m).execute();
  }

  async updateMember(imageId: string, member: string, status: MemberStatus, updatedAt: string): Promise<boolean> {
    const r = await this.db
      .updateTable('image_members')
      .set({ status, updated_at: updatedAt })
      .where('image_id', '=', imageId)
      .where('member', '=', member)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async deleteMember(imageId: string, member: string): Promise<boolean> {
    const r = await this.db.deleteFrom('image_members').where('image_id', '=', imageId).where('member', '=', member).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // --- quotas and housekeeping
  /** Bytes of stored image data a project owns (images whose data is kept). */
  async bytesOwnedBy(projectId: string): Promise<number> {
    const r = await this.db
      .selectFrom('images')
      .select((eb) => eb.fn.sum<number>('size').as('total'))
      .where('owner', '=', projectId)
      .where('status', 'in', ['active', 'deactivated'])
      .executeTakeFirst();
    return Number(r?.total ?? 0);
  }

  /** The project's byte quota: its own row, else the '*' default, else none (unlimited). */
  async quotaFor(projectId: string): Promise<number | undefined> {
    const rows = await this.db.selectFrom('image_quotas').selectAll().where('project_id', 'in', [projectId, '*']).execute();
    const own = rows.find((r) => r.project_id === projectId) ?? rows.find((r) => r.project_id === '*');
    return own ? Number(own.max_bytes) : undefined;
  }

  async setQuota(projectId: string, maxBytes: number | undefined): Promise<void> {
    if (maxBytes === undefined) {
      await this.db.deleteFrom('image_quotas').where('project_id', '=', projectId).execute();
      return;
    }
    await this.db
      .insertInto('image_quotas')
      .values({ project_id: projectId, max_bytes: maxBytes })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ max_bytes: maxBytes }))
      .execute();
  }

  /** After a crash, uploads that were in flight are back to queued (their bytes never became the image's). */
  async requeueInterruptedUploads(updatedAt: string): Promise<string[]> {
    const rows = await this.db.selectFrom('images').select('id').where('status', '=', 'saving').execute();
    if (rows.length) await this.db.updateTable('images').set({ status: 'queued', updated_at: updatedAt }).where('status', '=', 'saving').execute();
    return rows.map((r) => r.id);
  }

  /** Ids of images whose data file should exist. */
  async idsWithData(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('images').select('id').where('status', 'in', ['active', 'deactivated']).execute();
    return new Set(rows.map((r) => r.id));
  }
}
