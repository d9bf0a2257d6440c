/** Glance's image model as the core sees it, independent of SQL and HTTP. */

export const IMAGE_STATUSES = ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export const VISIBILITIES = ['public', 'private', 'shared', 'community'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/** The attributes Glance stores in its own columns (everything else is a custom property). */
export interface ImageBase {
  id: string;
  name: string | null;
  owner: string | null;
  status: ImageStatus;
  visibility: Visibility;
  protected: boolean;
  os_hidden: boolean;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  created_at: string;
  updated_at: string;
}

/** An image with its custom properties and tags. */
export interface Image extends ImageBase {
  properties: Record<string, string>;
  tags: string[];
}

export interface ImageMember {
  image_id: string;
  member: string;
  status: MemberStatus;
  created_at: string;
  updated_at: string;
}

/** Who is asking, reduced to what image rules need. */
export interface Viewer {
  projectId: string | undefined;
  isAdmin: boolean;
}

/**
 * What compute implements later: which instances (or other users) still
 * need an image's data, so that deleting the image can be refused.
 */
export interface ImageUsage {
  /** Ids (or readable names) of whatever uses the image; empty when unused. */
  usersOf(imageId: string): Promise<string[]>;
}

/** The default until compute registers its own: nothing uses any image. */
export const NO_IMAGE_USAGE: ImageUsage = {
  usersOf: async () => [],
};

/** Glance's limits (image_property_quota, image_tag_quota, image_member_quota). */
export const LIMITS = {
  properties: 128,
  tags: 128,
  members: 128,
  nameLength: 255,
  tagLength: 255,
  propertyKeyLength: 255,
  propertyValueLength: 65535,
} as const;

/** Image data hashes: md5 for `checksum`, this for `os_hash_value`. */
export const HASH_ALGO = 'sha512';
