/** Stacklet's tiny guest image (like CirrOS), built offline from Debian packages. */
export { buildTinyGuest, TINY_GUEST_BUILDER_VERSION } from './build.js';
export {
  TINY_GUEST_CMDLINE,
  TINY_GUEST_DEFAULT_MEMORY_MIB,
  TINY_GUEST_MIN_MEMORY_MIB,
  tinyGuestQemuArgs,
} from './boot-config.js';
export type { TinyGuestPackaging, TinyGuestVm } from './boot-config.js';
export type { BuildTinyGuestOptions, TinyGuest, TinyGuestSizes } from './types.js';
