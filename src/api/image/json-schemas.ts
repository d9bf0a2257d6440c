import { CONTAINER_FORMATS, DISK_FORMATS } from '../../core/image/formats.js';
import { IMAGE_STATUSES, MEMBER_STATUSES, VISIBILITIES } from '../../core/image/types.js';

/**
 * The JSON Schemas Glance serves under /v2/schemas. glanceclient builds its
 * models and `image-create` options from them, so the property names,
 * types and enums follow Glance's; the wording is ours.
 */

const nullable = (t: string) => ['null', t];

/** Base image attributes (Glance's base properties). */
function imageProperties(): Record<string, Record<string, unknown>> {
  return {
    id: {
      type: 'string',
      description: 'The image identifier (a UUID).',
      pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$',
    },
    name: { type: nullable('string'), description: 'A name for people to recognise the image by.', maxLength: 255 },
    status: { type: 'string', readOnly: true, description: 'Where the image is in its life cycle.', enum: [...IMAGE_STATUSES] },
    visibility: { type: 'string', description: 'Who may see and use the image.', enum: [...VISIBILITIES] },
    protected: { type: 'boolean', description: 'When true the image cannot be deleted.' },
    os_hidden: { type: 'boolean', description: 'When true the image is left out of default image lists.' },
    checksum: { type: nullable('string'), readOnly: true, description: 'MD5 of the image data.', maxLength: 32 },
    os_hash_algo: { type: nullable('string'), readOnly: true, description: 'Algorithm of os_hash_value.', maxLength: 64 },
    os_hash_value: { type: nullable('string'), readOnly: true, description: 'Hex digest of the image data with os_hash_algo.', maxLength: 128 },
    owner: { type: nullable('string'), description: 'The project that owns the image.', maxLength: 255 },
    size: { type: nullable('integer'), readOnly: true, description: 'Size of the image data in bytes.' },
    virtual_size: { type: nullable('integer'), readOnly: true, description: 'Size of the virtual disk in bytes.' },
    container_format: { type: nullable('string'), description: 'Container around the disk data.', enum: [null, ...CONTAINER_FORMATS] },
    disk_format: { type: nullable('string'), description: 'Format of the disk data.', enum: [null, ...DISK_FORMATS] },
    created_at: { type: 'string', readOnly: true, description: 'When the image was registered.' },
    updated_at: { type: 'string', readOnly: true, description: 'When the image last changed.' },
    tags: { type: 'array', description: 'Free-form labels.', items: { type: 'string', maxLength: 255 } },
    direct_url: { type: 'string', readOnly: true, description: 'Where the data is kept in an external store (not used here).' },
    min_ram: { type: 'integer', description: 'RAM in MB an instance needs to boot the image.' },
    min_disk: { type: 'integer', description: 'Disk in GB an instance needs to boot the image.' },
    self: { type: 'string', readOnly: true, description: 'Path of the image.' },
    file: { type: 'string', readOnly: true, description: 'Path of the image data.' },
    stores: { type: 'string', readOnly: true, description: 'Stores holding the data (multi-store clouds only).' },
    schema: { type: 'string', readOnly: true, description: 'Path of this schema.' },
    locations: {
      type: 'array',
      description: 'External locations of the data (not used here).',
      items: {
        type: 'object',
        properties: { url: { type: 'string', maxLength: 255 }, metadata: { type: 'object' } },
        required: ['url', 'metadata'],
      },
    },
  };
}

/** Well-known custom properties, described for clients (they stay ordinary string properties). */
function commonProperties(): Record<string, Record<string, unknown>> {
  const s = (description: string, extra: Record<string, unknown> = {}) => ({ type: 'string', description, is_base: false, ...extra });
  return {
    kernel_id: s('Image id of the kernel of an AMI-style image.', { pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$', type: ['null', 'string'] }),
    ramdisk_id: s('Image id of the ramdisk of an AMI-style image.', { pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$', type: ['null', 'string'] }),
    instance_uuid: s('The server this image is a snapshot of.'),
    architecture: s('CPU architecture the image needs (x86_64, aarch64, ...).'),
    os_distro: s('Operating system distribution, lower case (debian, ubuntu, cirros, ...).'),
    os_version: s('Operating system version as its distributor writes it.'),
    description: s('What the image is.'),
    hw_disk_bus: s('Disk bus for instances of this image (virtio, scsi, ide, ...).'),
    hw_vif_model: s('Network card model for instances of this image (virtio, e1000, ...).'),
    hw_machine_type: s('Machine type for instances of this image (pc, q35, ...).'),
  };
}

/** GET /v2/schemas/image */
export function imageSchema(): Record<string, unknown> {
  return {
    name: 'image',
    properties: { ...imageProperties(), ...commonProperties() },
    additionalProperties: { type: 'string' },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

function collection(name: string, item: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    properties: {
      [name]: { type: 'array', items: item },
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

/** GET /v2/schemas/images */
export function imagesSchema(): Record<string, unknown> {
  return collection('images', imageSchema());
}

/** GET /v2/schemas/member */
export function memberSchema(): Record<string, unknown> {
  return {
    name: 'member',
    properties: {
      created_at: { type: 'string', description: 'When the member was added.' },
      image_id: { type: 'string', description: 'The shared image.', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
      member_id: { type: 'string', description: 'The project the image is shared with.' },
      schema: { type: 'string', readOnly: true },
      status: { type: 'string', description: 'Whether the member accepted the image.', enum: [...MEMBER_STATUSES] },
      updated_at: { type: 'string', description: 'When the membership last changed.' },
    },
  };
}

/** GET /v2/schemas/members */
export function membersSchema(): Record<string, unknown> {
  return {
    name: 'members',
    properties: {
      members: { type: 'array', items: memberSchema() },
      schema: { type: 'string' },
    },
    links: [{ rel: 'describedby', href: '{schema}' }],
  };
}
