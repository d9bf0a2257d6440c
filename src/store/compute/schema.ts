import type { Generated } from 'kysely';

/**
 * Nova's tables (migrations 040-059). Desired state (what the API writes)
 * and observed state (what the compute reconciler writes) live in separate
 * columns of `instances`: the API never writes power_state, the reconciler
 * never writes desired_power, name or metadata.
 */

export interface FlavorTable {
  /** Nova's flavorid: what users see and pass as flavorRef ("1", "42" or a uuid). */
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral: number;
  swap: number;
  rxtx_factor: number;
  is_public: number;
  disabled: number;
  description: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface FlavorExtraSpecTable {
  flavor_id: string;
  key: string;
  value: string;
}

export interface FlavorProjectTable {
  flavor_id: string;
  project_id: string;
}

export interface KeypairTable {
  id: Generated<number>;
  user_id: string;
  name: string;
  type: string;
  public_key: string;
  fingerprint: string;
  created_at: string;
}

/** The flavor as it was when the server was created or resized (flavors may change or go later). */
export interface FlavorSnapshot {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral: number;
  swap: number;
  extra_specs: Record<string, string>;
}

export interface InstanceTable {
  id: string;
  project_id: string;
  user_id: string;
  name: string;
  description: string | null;
  hostname: string;
  reservation_id: string;
  launch_index: number;
  /** '' when there is no image (Nova's boot from volume). */
  image_id: string;
  flavor_id: string;
  /** JSON FlavorSnapshot. */
  flavor: string;
  /** JSON FlavorSnapshot during a resize: the flavor being moved to (resize_prep) ... */
  new_flavor: string | null;
  /** ... and, once resized (VERIFY_RESIZE), the flavor a revert goes back to. */
  old_flavor: string | null;
  key_name: string | null;
  /** The public key at create time, for the metadata service. */
  key_data: string | null;
  /** Base64, as the user sent it. */
  user_data: string | null;
  config_drive: number;
  /** The zone the user asked for (null: none asked). */
  availability_zone: string | null;
  access_ipv4: string;
  access_ipv6: string;
  disk_config: string;
  trusted_certs: string | null;
  // --- state: vm_state/task_state written by the API on requests and by the reconciler on completion
  vm_state: string;
  task_state: string | null;
  /** Observed by the reconciler (Nova's numbers: 0 NOSTATE, 1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED). */
  power_state: number;
  /** Desired: running | shutdown | paused | suspended. */
  desired_power: string;
  /** Bumped by every write of desired state; the reconciler records the last one it applied. */
  generation: number;
  applied_generation: number;
  host: string | null;
  node: string | null;
  /** Set when the reconciler took the server on (before it touches the host); unset means the API may delete locally. */
  claimed_at: string | null;
  launched_at: string | null;
  terminated_at: string | null;
  locked: number;
  locked_by: string | null;
  locked_reason: string | null;
  progress: number;
  fault_code: number | null;
  fault_message: string | null;
  fault_details: string | null;
  fault_created: string | null;
  root_device_name: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  deleted: number;
}

export interface InstanceMetadataTable {
  instance_id: string;
  key: string;
  value: string;
}

export interface InstanceTagTable {
  instance_id: string;
  tag: string;
}

/** The ports a server has, in order; `owned` ports were made by compute and go with the server. */
export interface InstancePortTable {
  instance_id: string;
  port_id: string;
  network_id: string;
  owned: number;
  tag: string | null;
  position: number;
}

export interface InstanceActionTable {
  id: Generated<number>;
  instance_id: string;
  request_id: string;
  action: string;
  project_id: string;
  user_id: string;
  start_time: string;
  finish_time: string | null;
  message: string | null;
  updated_at: string;
}

export interface InstanceActionEventTable {
  id: Generated<number>;
  action_id: number;
  event: string;
  start_time: string;
  finish_time: string | null;
  result: string | null;
  traceback: string | null;
  host: string | null;
}

export interface ServerGroupTable {
  id: string;
  name: string;
  project_id: string;
  user_id: string;
  policy: string;
  /** JSON object, e.g. {"max_server_per_host": 2}. */
  rules: string;
  created_at: string;
}

export interface ServerGroupMemberTable {
  group_id: string;
  instance_id: string;
}

export interface ComputeQuotaTable {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface ConsoleTokenTable {
  /** sha256 of the token; the token itself is only ever in the URL given to the user. */
  token_hash: string;
  instance_id: string;
  protocol: string;
  type: string;
  expires_at: string;
  created_at: string;
}

/** A snapshot asked for by createImage; the reconciler uploads it to the image with this id. */
export interface InstanceSnapshotTable {
  image_id: string;
  instance_id: string;
  name: string;
  /** JSON object of image properties. */
  properties: string;
  project_id: string;
  user_id: string;
  /** pending | uploading | done | error */
  status: string;
  created_at: string;
}

/** This host as a hypervisor and a nova-compute service; ids stay stable across restarts. */
export interface ComputeNodeTable {
  id: number;
  uuid: string;
  service_id: number;
  service_uuid: string;
  host: string;
  disabled: number;
  disabled_reason: string | null;
  forced_down: number;
  created_at: string;
  updated_at: string;
}

export interface ComputeTables {
  flavors: FlavorTable;
  flavor_extra_specs: FlavorExtraSpecTable;
  flavor_projects: FlavorProjectTable;
  keypairs: KeypairTable;
  instances: InstanceTable;
  instance_metadata: InstanceMetadataTable;
  instance_tags: InstanceTagTable;
  instance_ports: InstancePortTable;
  instance_actions: InstanceActionTable;
  instance_action_events: InstanceActionEventTable;
  server_groups: ServerGroupTable;
  server_group_members: ServerGroupMemberTable;
  compute_quotas: ComputeQuotaTable;
  console_tokens: ConsoleTokenTable;
  instance_snapshots: InstanceSnapshotTable;
  compute_nodes: ComputeNodeTable;
}
