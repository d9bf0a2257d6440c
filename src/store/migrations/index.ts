import type { Migration } from 'kysely';
import * as m001 from './001_identity.js';
import * as m010 from './010_image.js';
import * as m020 from './020_changes.js';
import * as m021 from './021_network.js';
import * as m040 from './040_compute.js';

/**
 * Every migration, by name. Names sort in the order they run; ranges are
 * reserved per service so parallel work never collides:
 * 001-009 identity/core, 010-019 image, 020-039 network, 040-059 compute.
 */
export const MIGRATIONS: Record<string, Migration> = {
  '001_identity': m001,
  '010_image': m010,
  '020_changes': m020,
  '021_network': m021,
  '040_compute': m040,
};
