/** Glance's tables (migrations 010-019). Timestamps are ISO-8601 UTC with milliseconds; booleans 0/1. */

export interface ImageTable {
  id: string;
  name: string | null;
  /** The owning project's id. */
  owner: string | null;
  /** queued | saving | active | killed | deactivated */
  status: string;
  /** public | private | shared | community */
  visibility: string;
  protected: number;
  os_hidden: number;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  /** md5 hex of the data. */
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  created_at: string;
  updated_at: string;
}

/** Custom properties (string values), one row each. */
export interface ImagePropertyTable {
  image_id: string;
  name: string;
  value: string;
}

export interface ImageTagTable {
  image_id: string;
  tag: string;
}

/** A project an image is shared with, and whether it accepted. */
export interface ImageMemberTable {
  image_id: string;
  member: string;
  /** pending | accepted | rejected */
  status: string;
  created_at: string;
  updated_at: string;
}

/** Bytes of image data a project may hold; project_id '*' is the default. */
export interface ImageQuotaTable {
  project_id: string;
  max_bytes: number;
}

export interface ImageTables {
  images: ImageTable;
  image_properties: ImagePropertyTable;
  image_tags: ImageTagTable;
  image_members: ImageMemberTable;
  image_quotas: ImageQuotaTable;
}
