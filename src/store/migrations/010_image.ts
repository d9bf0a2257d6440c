import type { Kysely } from 'kysely';

/**
 * Glance's model: images with their base attributes, custom properties and
 * tags in their own tables (so list filters run in SQL), members (projects
 * an image is shared with) and per-project byte quotas.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('images')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .addColumn('owner', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('visibility', 'text', (c) => c.notNull())
    .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('os_hidden', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disk_format', 'text')
    .addColumn('container_format', 'text')
    .addColumn('size', 'integer')
    .addColumn('virtual_size', 'integer')
    .addColumn('checksum', 'text')
    .addColumn('os_hash_algo', 'text')
    .addColumn('os_hash_value', 'text')
    .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('images_owner').on('images').column('owner').execute();
  await db.schema.createIndex('images_visibility').on('images').column('visibility').execute();

  await db.schema
    .createTable('image_properties')
    .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_properties_pk', ['image_id', 'name'])
    .execute();
  await db.schema.createIndex('image_properties_name_value').on('image_properties').columns(['name', 'value']).execute();

  await db.schema
    .createTable('image_tags')
    .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_tags_pk', ['image_id', 'tag'])
    .execute();
  await db.schema.createIndex('image_tags_tag').on('image_tags').column('tag').execute();

  await db.schema
    .createTable('image_members')
    .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
    .addColumn('member', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_members_pk', ['image_id', 'member'])
    .execute();
  await db.schema.createIndex('image_members_member').on('image_members').column('member').execute();

  // project_id '*' is the default for every project without its own row; no row at all means unlimited.
  await db.schema
    .createTable('image_quotas')
    .addColumn('project_id', 'text', (c) => c.primaryKey())
    .addColumn('max_bytes', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['image_quotas', 'image_members', 'image_tags', 'image_properties', 'images']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
