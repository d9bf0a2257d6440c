import type { Generated } from 'kysely';
import type { ComputeTables } from './compute/schema.js';
import type { ImageTables } from './image/schema.js';
import type { NetworkTables } from './network/schema.js';

/**
 * Row types of every table. Timestamps are ISO-8601 strings (UTC, "Z");
 * booleans are 0/1 integers (SQLite has no boolean); JSON columns hold text.
 * Services add their tables here next to their migrations.
 */
export interface MetaTable {
  key: string;
  value: string;
}

export interface DomainTable {
  id: string;
  name: string;
  description: string;
  enabled: number;
  extra: string;
  created_at: string;
}

export interface ProjectTable {
  id: string;
  name: string;
  domain_id: string;
  parent_id: string | null;
  description: string;
  enabled: number;
  tags: string;
  extra: string;
  created_at: string;
}

export interface UserTable {
  id: string;
  name: string;
  domain_id: string;
  default_project_id: string | null;
  description: string;
  email: string | null;
  enabled: number;
  password_hash: string | null;
  password_expires_at: string | null;
  extra: string;
  created_at: string;
}

export interface GroupTable {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  created_at: string;
}

export interface GroupMemberTable {
  group_id: string;
  user_id: string;
}

export interface RoleTable {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  created_at: string;
}

export interface ImpliedRoleTable {
  prior_role_id: string;
  implied_role_id: string;
}

export interface AssignmentTable {
  actor_type: 'user' | 'group';
  actor_id: string;
  target_type: 'project' | 'domain';
  target_id: string;
  role_id: string;
  inherited: number;
}

export interface RegionTable {
  id: string;
  description: string;
  parent_region_id: string | null;
  created_at: string;
}

export interface ServiceTable {
  id: string;
  type: string;
  name: string;
  description: string;
  enabled: number;
  managed: number;
  created_at: string;
}

export interface EndpointTable {
  id: string;
  service_id: string;
  interface: string;
  url: string;
  region_id: string | null;
  enabled: number;
  created_at: string;
}

export interface AppCredentialTable {
  id: string;
  name: string;
  user_id: string;
  project_id: string;
  description: string;
  secret_hash: string;
  expires_at: string | null;
  unrestricted: number;
  roles: string;
  created_at: string;
}

export interface RevocationTable {
  id: Generated<number>;
  audit_id: string | null;
  user_id: string | null;
  project_id: string | null;
  app_cred_id: string | null;
  issued_before: string;
  expires_at: string;
}

/** Every table; each service declares its own in store/<service>/schema.ts. */
export interface Database extends ImageTables, NetworkTables, ComputeTables {
  meta: MetaTable;
  domains: DomainTable;
  projects: ProjectTable;
  users: UserTable;
  groups: GroupTable;
  group_members: GroupMemberTable;
  roles: RoleTable;
  implied_roles: ImpliedRoleTable;
  assignments: AssignmentTable;
  regions: RegionTable;
  services: ServiceTable;
  endpoints: EndpointTable;
  app_credentials: AppCredentialTable;
  revocations: RevocationTable;
}
