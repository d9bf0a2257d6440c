import { atLeast, type Microversion } from '../../core/compute/microversion.js';

/**
 * Request schemas of the compute API, per microversion, after Nova's own
 * (nova/api/openstack/compute/schemas): objects are closed where Nova
 * closes them, so an unknown or too-new field is a 400.
 */

type Schema = Record<string, unknown>;

const clone = <T>(x: T): T => structuredClone(x);

export const boolean = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
};
export const name = { type: 'string', format: 'name', minLength: 1, maxLength: 255 };
const azName = { type: 'string', format: 'az_name', minLength: 1, maxLength: 255 };
const description = { type: ['string', 'null'], minLength: 0, maxLength: 255, pattern: '^[^\\p{C}]*$' };
const positiveInteger = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, minLength: 1 };
const uuid = { type: 'string', format: 'uuid' };
const ipAddress = { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] };
export const metadata = {
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
};
export const tag = { type: 'string', pattern: '^[^,/]*$', minLength: 1, maxLength: 60 };
const diskConfig = { type: 'string', enum: ['AUTO', 'MANUAL'] };
const trustedCerts = { type: ['array', 'null'], minItems: 1, maxItems: 50, uniqueItems: true, items: { type: 'string', minLength: 1 } };
const fqdn = { type: 'string', pattern: '^[a-zA-Z0-9-._]*$', minLength: 1, maxLength: 255 };
const flavorParamPositive = { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, maximum: 0x7fffffff };
const flavorParamNonNegative = { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 0, maximum: 0x7fffffff };

// --- servers

const bdmV2Item = {
  type: 'object',
  properties: {
    virtual_name: { type: 'string', maxLength: 255 },
    volume_id: uuid,
    snapshot_id: uuid,
    volume_size: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, maximum: 0x7fffffff },
    device_name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._/-]*$' },
    delete_on_termination: boolean,
    no_device: {},
    connection_info: { type: 'string', maxLength: 16777215 },
    source_type: { type: 'string', enum: ['volume', 'image', 'snapshot', 'blank'] },
    uuid: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._-]*$' },
    image_id: uuid,
    destination_type: { type: 'string', enum: ['local', 'volume'] },
    guest_format: { type: 'string', maxLength: 255 },
    device_type: { type: 'string', maxLength: 255 },
    disk_bus: { type: 'string', maxLength: 255 },
    boot_index: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$' },
  },
  additionalProperties: false,
};

const networkItem = {
  type: 'object',
  properties: { fixed_ip: ipAddress, port: { type: ['string', 'null'], format: 'uuid' }, uuid: { type: 'string' } },
  additionalProperties: false,
};

const hints = { type: 'object', properties: { group: { anyOf: [uuid, { type: 'array', items: uuid }] } }, additionalProperties: true };

const createV21: Schema = {
  type: 'object',
  properties: {
    server: {
      type: 'object',
      properties: {
        name,
        imageRef: { anyOf: [uuid, { type: 'string', maxLength: 0 }] },
        flavorRef: { type: ['string', 'integer'], minLength: 1 },
        adminPass: { type: 'string' },
        metadata,
        networks: { type: 'array', items: networkItem },
        'OS-DCF:diskConfig': diskConfig,
        accessIPv4: { type: 'string', format: 'ipv4' },
        accessIPv6: { type: 'string', format: 'ipv6' },
        personality: {
          type: 'array',
          items: { type: 'object', properties: { path: { type: 'string' }, contents: { type: 'string', format: 'base64' } }, additionalProperties: false },
        },
        availability_zone: name,
        block_device_mapping: { type: 'array', items: { type: 'object' } },
        block_device_mapping_v2: { type: 'array', items: bdmV2Item },
        config_drive: boolean,
        key_name: name,
        min_count: positiveInteger,
        max_count: positiveInteger,
        return_reservation_id: boolean,
        security_groups: { type: 'array', items: { type: 'object', properties: { name }, additionalProperties: false } },
        user_data: { type: 'string', format: 'base64' },
      },
      required: ['name', 'flavorRef'],
      additionalProperties: false,
    },
    'os:scheduler_hints': hints,
    'OS-SCH-HNT:scheduler_hints': hints,
  },
  required: ['server'],
  additionalProperties: false,
};

type Props = Record<string, unknown>;
const serverProps = (s: Schema): Props => ((s['properties'] as Props)['server'] as Props)['properties'] as Props;

function createSchemaFor(v: Microversion): Schema {
  const s = clone(createV21);
  const p = serverProps(s);
  if (atLeast(v, 19)) p['description'] = description;
  if (atLeast(v, 32) && !atLeast(v, 37)) ((p['networks'] as Props)['items'] as { properties: Props }).properties['tag'] = tag;
  if (atLeast(v, 32) && !atLeast(v, 33)) ((p['block_device_mapping_v2'] as Props)['items'] as { properties: Props }).properties['tag'] = tag;
  if (atLeast(v, 37)) {
    ((s['properties'] as Props)['server'] as { required: string[] }).required.push('networks');
    const item = clone(networkItem) as { properties: Props };
    item.properties['uuid'] = uuid;
    if (atLeast(v, 42)) item.properties['tag'] = tag;
    p['networks'] = { oneOf: [{ type: 'array', items: item }, { type: 'string', enum: ['none', 'auto'] }] };
  }
  if (atLeast(v, 42)) ((p['block_device_mapping_v2'] as Props)['items'] as { properties: Props }).properties['tag'] = tag;
  if (atLeast(v, 52)) p['tags'] = { type: 'array', items: tag, maxItems: 50 };
  if (atLeast(v, 57)) delete p['personality'];
  if (atLeast(v, 63)) p['trusted_image_certificates'] = trustedCerts;
  if (atLeast(v, 67)) ((p['block_device_mapping_v2'] as Props)['items'] as { properties: Props }).properties['volume_type'] = { type: ['string', 'null'], maxLength: 255 };
  if (atLeast(v, 74)) {
    p['host'] = fqdn;
    p['hypervisor_hostname'] = fqdn;
  }
  return s;
}

const byVersion = new Map<string, Schema>();
function memo(key: string, make: () => Schema): Schema {
  let s = byVersion.get(key);
  if (!s) byVersion.set(key, (s = make()));
  return s;
}

export const serverCreateSchema = (v: Microversion): Schema => memo(`create:${v.minor}`, () => createSchemaFor(v));

export const serverUpdateSchema = (v: Microversion): Schema =>
  memo(`update:${atLeast(v, 19)}`, () => ({
    type: 'object',
    properties: {
      server: {
        type: 'object',
        properties: {
          name,
          'OS-DCF:diskConfig': diskConfig,
          accessIPv4: { type: 'string', format: 'ipv4' },
          accessIPv6: { type: 'string', format: 'ipv6' },
          ...(atLeast(v, 19) ? { description } : {}),
        },
        additionalProperties: false,
      },
    },
    required: ['server'],
    additionalProperties: false,
  }));

export const rebuildSchema = (v: Microversion): Schema =>
  memo(`rebuild:${v.minor}`, () => {
    const props: Props = {
      name,
      imageRef: uuid,
      adminPass: { type: 'string' },
      metadata,
      preserve_ephemeral: boolean,
      'OS-DCF:diskConfig': diskConfig,
      accessIPv4: { type: 'string', format: 'ipv4' },
      accessIPv6: { type: 'string', format: 'ipv6' },
    };
    if (!atLeast(v, 57)) props['personality'] = { type: 'array', items: { type: 'object' } };
    if (atLeast(v, 19)) props['description'] = description;
    if (atLeast(v, 54)) props['key_name'] = { anyOf: [name, { type: 'null' }] };
    if (atLeast(v, 57)) props['user_data'] = { type: ['string', 'null'], format: 'base64' };
    if (atLeast(v, 63)) props['trusted_image_certificates'] = trustedCerts;
    return {
      type: 'object',
      properties: { rebuild: { type: 'object', properties: props, required: ['imageRef'], additionalProperties: false } },
      required: ['rebuild'],
      additionalProperties: false,
    };
  });

/** Actions without arguments take `null` or `{}` (Nova's schemas say so). */
const nullArg = { type: ['object', 'null'], properties: {}, additionalProperties: false };

export const ACTION_SCHEMAS: Record<string, (v: Microversion) => Schema> = {
  'os-start': () => ({ type: 'object', properties: { 'os-start': nullArg }, additionalProperties: false }),
  'os-stop': () => ({ type: 'object', properties: { 'os-stop': nullArg }, additionalProperties: false }),
  pause: () => ({ type: 'object', properties: { pause: nullArg }, additionalProperties: false }),
  unpause: () => ({ type: 'object', properties: { unpause: nullArg }, additionalProperties: false }),
  suspend: () => ({ type: 'object', properties: { suspend: nullArg }, additionalProperties: false }),
  resume: () => ({ type: 'object', properties: { resume: nullArg }, additionalProperties: false }),
  confirmResize: () => ({ type: 'object', properties: { confirmResize: nullArg }, additionalProperties: false }),
  revertResize: () => ({ type: 'object', properties: { revertResize: nullArg }, additionalProperties: false }),
  forceDelete: () => ({ type: 'object', properties: { forceDelete: nullArg }, additionalProperties: false }),
  unlock: () => ({ type: 'object', properties: { unlock: nullArg }, additionalProperties: false }),
  reboot: () => ({
    type: 'object',
    properties: {
      reboot: {
        type: 'object',
        properties: { type: { type: 'string', enum: ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'] } },
        required: ['type'],
        additionalProperties: false,
      },
    },
    required: ['reboot'],
    additionalProperties: false,
  }),
  lock: (v) => ({
    type: 'object',
    properties: {
      lock: atLeast(v, 73)
        ? { type: ['object', 'null'], properties: { locked_reason: { type: 'string', minLength: 1, maxLength: 255 } }, additionalProperties: false }
        : nullArg,
    },
    additionalProperties: false,
  }),
  createImage: () => ({
    type: 'object',
    properties: {
      createImage: { type: 'object', properties: { name, metadata: { type: 'object' } }, required: ['name'], additionalProperties: false },
    },
    required: ['createImage'],
    additionalProperties: false,
  }),
  resize: () => ({
    type: 'object',
    properties: {
      resize: {
        type: 'object',
        properties: { flavorRef: { type: ['string', 'integer'], minLength: 1 }, 'OS-DCF:diskConfig': diskConfig },
        required: ['flavorRef'],
        additionalProperties: false,
      },
    },
    required: ['resize'],
    additionalProperties: false,
  }),
  'os-getConsoleOutput': () => ({
    type: 'object',
    properties: {
      'os-getConsoleOutput': {
        type: 'object',
        properties: { length: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$', minimum: -1 } },
        additionalProperties: false,
      },
    },
    required: ['os-getConsoleOutput'],
    additionalProperties: false,
  }),
  'os-getVNCConsole': () => ({
    type: 'object',
    properties: {
      'os-getVNCConsole': { type: 'object', properties: { type: { type: 'string', enum: ['novnc', 'xvpvnc'] } }, required: ['type'], additionalProperties: false },
    },
    required: ['os-getVNCConsole'],
    additionalProperties: false,
  }),
  addSecurityGroup: () => ({
    type: 'object',
    properties: { addSecurityGroup: { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['name'], additionalProperties: false } },
    required: ['addSecurityGroup'],
    additionalProperties: false,
  }),
  removeSecurityGroup: () => ({
    type: 'object',
    properties: { removeSecurityGroup: { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['name'], additionalProperties: false } },
    required: ['removeSecurityGroup'],
    additionalProperties: false,
  }),
};

export const remoteConsoleSchema: Schema = {
  type: 'object',
  properties: {
    remote_console: {
      type: 'object',
      properties: {
        protocol: { type: 'string', enum: ['vnc', 'spice', 'rdp', 'serial', 'mks'] },
        type: { type: 'string', enum: ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'spice-direct', 'serial', 'webmks'] },
      },
      required: ['protocol', 'type'],
      additionalProperties: false,
    },
  },
  required: ['remote_console'],
  additionalProperties: false,
};

// --- server sub-resources

export const metadataSetSchema: Schema = { type: 'object', properties: { metadata }, required: ['metadata'], additionalProperties: false };
export const metadataItemSchema: Schema = {
  type: 'object',
  properties: { meta: { ...metadata, minProperties: 1, maxProperties: 1 } },
  required: ['meta'],
  additionalProperties: false,
};
export const tagsSchema: Schema = { type: 'object', properties: { tags: { type: 'array', items: tag } }, required: ['tags'], additionalProperties: false };

export const interfaceAttachSchema = (v: Microversion): Schema => ({
  type: 'object',
  properties: {
    interfaceAttachment: {
      type: 'object',
      properties: {
        net_id: uuid,
        port_id: uuid,
        fixed_ips: { type: 'array', minItems: 1, maxItems: 1, items: { type: 'object', properties: { ip_address: ipAddress }, required: ['ip_address'], additionalProperties: false } },
        ...(atLeast(v, 49) ? { tag } : {}),
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
});

export const externalEventsSchema: Schema = {
  type: 'object',
  properties: {
    events: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: {
          server_uuid: uuid,
          name: { type: 'string', enum: ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted', 'volume-extended', 'power-update', 'accelerator-request-bound'] },
          status: { type: 'string', enum: ['failed', 'completed', 'in-progress'] },
          tag: { type: 'string', maxLength: 255 },
        },
        required: ['server_uuid', 'name'],
        additionalProperties: false,
      },
    },
  },
  required: ['events'],
  additionalProperties: false,
};

// --- flavors

export const flavorCreateSchema = (v: Microversion): Schema =>
  memo(`flavor:${atLeast(v, 55)}`, () => ({
    type: 'object',
    properties: {
      flavor: {
        type: 'object',
        properties: {
          name,
          id: { anyOf: [{ type: 'string', minLength: 1, maxLength: 255, pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$' }, { type: 'null' }] },
          ram: flavorParamPositive,
          vcpus: flavorParamPositive,
          disk: flavorParamNonNegative,
          'OS-FLV-EXT-DATA:ephemeral': flavorParamNonNegative,
          swap: { anyOf: [flavorParamNonNegative, { type: 'string', maxLength: 0 }] },
          rxtx_factor: { type: ['number', 'string'], pattern: '^[0-9]+(\\.[0-9]+)?$', minimum: 0, exclusiveMinimum: 0, maximum: 3.40282e38 },
          'os-flavor-access:is_public': boolean,
          ...(atLeast(v, 55) ? { description } : {}),
        },
        required: ['name', 'ram', 'vcpus', 'disk'],
        additionalProperties: false,
      },
    },
    required: ['flavor'],
    additionalProperties: false,
  }));

export const flavorUpdateSchema: Schema = {
  type: 'object',
  properties: { flavor: { type: 'object', properties: { description }, required: ['description'], additionalProperties: false } },
  required: ['flavor'],
  additionalProperties: false,
};

const specKey = '^[a-zA-Z0-9-_:. ]{1,255}$';
const specValue = { type: ['string', 'number', 'boolean'], minLength: 0, maxLength: 255 };
export const extraSpecsSchema: Schema = {
  type: 'object',
  properties: { extra_specs: { type: 'object', patternProperties: { [specKey]: specValue }, additionalProperties: false } },
  required: ['extra_specs'],
  additionalProperties: false,
};
export const extraSpecItemSchema: Schema = {
  type: 'object',
  patternProperties: { [specKey]: specValue },
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
};

export const flavorActionSchema: Schema = {
  type: 'object',
  properties: {
    addTenantAccess: { type: 'object', properties: { tenant: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['tenant'], additionalProperties: false },
    removeTenantAccess: { type: 'object', properties: { tenant: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['tenant'], additionalProperties: false },
  },
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
};

// --- keypairs

export const keypairCreateSchema = (v: Microversion): Schema =>
  memo(`keypair:${atLeast(v, 2)}:${atLeast(v, 10)}`, () => ({
    type: 'object',
    properties: {
      keypair: {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 255 },
          public_key: { type: 'string' },
          ...(atLeast(v, 2) ? { type: { type: 'string', enum: ['ssh', 'x509', 'ssh-ed25519', 'ssh-rsa'] } } : {}),
          ...(atLeast(v, 10) ? { user_id: { type: 'string', minLength: 1, maxLength: 255 } } : {}),
        },
        required: ['name'],
        additionalProperties: false,
      },
    },
    required: ['keypair'],
    additionalProperties: false,
  }));

// --- server groups

export const serverGroupCreateSchema = (v: Microversion): Schema =>
  memo(`group:${atLeast(v, 15)}:${atLeast(v, 64)}`, () => {
    const policies = atLeast(v, 15) ? ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] : ['affinity', 'anti-affinity'];
    const g: Props = atLeast(v, 64)
      ? {
          type: 'object',
          properties: {
            name,
            policy: { type: 'string', enum: policies },
            rules: {
              type: 'object',
              properties: { max_server_per_host: positiveInteger },
              additionalProperties: false,
            },
          },
          required: ['name', 'policy'],
          additionalProperties: false,
        }
      : {
          type: 'object',
          properties: { name, policies: { type: 'array', items: { type: 'string', enum: policies }, uniqueItems: true, minItems: 1, maxItems: 1 } },
          required: ['name', 'policies'],
          additionalProperties: false,
        };
    return { type: 'object', properties: { server_group: g }, required: ['server_group'], additionalProperties: false };
  });

// --- quotas

const quotaValue = { type: ['integer', 'string'], pattern: '^-?[0-9]+$', minimum: -1, maximum: 0x7fffffff };
export const quotaUpdateSchema = (v: Microversion): Schema =>
  memo(`quota:${atLeast(v, 36)}:${atLeast(v, 57)}`, () => {
    const names = ['instances', 'cores', 'ram', 'key_pairs', 'metadata_items', 'server_groups', 'server_group_members'];
    if (!atLeast(v, 57)) names.push('injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes');
    if (!atLeast(v, 36)) names.push('floating_ips', 'fixed_ips', 'security_groups', 'security_group_rules', 'networks');
    const props: Props = Object.fromEntries(names.map((n) => [n, quotaValue]));
    props['force'] = boolean;
    return {
      type: 'object',
      properties: { quota_set: { type: 'object', properties: props, additionalProperties: false } },
      required: ['quota_set'],
      additionalProperties: false,
    };
  });

export { azName };
