import type { Image, ImageMember } from '../../core/image/types.js';
import { secondsTime } from '../../core/ids.js';

/**
 * Glance's JSON for images and members: custom properties at the top level
 * next to the base attributes, times without fractions, and paths (not
 * URLs) in self/file/schema.
 */

export function imageView(i: Image): Record<string, unknown> {
  return {
    ...i.properties,
    name: i.name,
    disk_format: i.disk_format,
    container_format: i.container_format,
    visibility: i.visibility,
    size: i.size,
    virtual_size: i.virtual_size,
    status: i.status,
    checksum: i.checksum,
    protected: i.protected,
    min_ram: i.min_ram,
    min_disk: i.min_disk,
    owner: i.owner,
    os_hidden: i.os_hidden,
    os_hash_algo: i.os_hash_algo,
    os_hash_value: i.os_hash_value,
    id: i.id,
    created_at: secondsTime(i.created_at),
    updated_at: secondsTime(i.updated_at),
    tags: i.tags,
    self: `/v2/images/${i.id}`,
    file: `/v2/images/${i.id}/file`,
    schema: '/v2/schemas/image',
  };
}

export function memberView(m: ImageMember): Record<string, unknown> {
  return {
    created_at: secondsTime(m.created_at),
    updated_at: secondsTime(m.updated_at),
    image_id: m.image_id,
    member_id: m.member,
    schema: '/v2/schemas/member',
    status: m.status,
  };
}

/** The list body: images, `first`, `schema` and, when there is more, `next` (the same query with a new marker). */
export function imageListView(images: Image[], rawQuery: string, nextMarker: string | undefined): Record<string, unknown> {
  const params = new URLSearchParams(rawQuery);
  params.delete('marker');
  const q = params.toString();
  const body: Record<string, unknown> = {
    images: images.map(imageView),
    first: q ? `/v2/images?${q}` : '/v2/images',
    schema: '/v2/schemas/images',
  };
  if (nextMarker !== undefined) {
    params.append('marker', nextMarker);
    body['next'] = `/v2/images?${params.toString()}`;
  }
  return body;
}
