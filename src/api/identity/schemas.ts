import { Type, type TSchema } from '@sinclair/typebox';

/** Request schemas of the Keystone v3 routes. Extra attributes are allowed where Keystone allows them. */

const Name = Type.String({ minLength: 1, maxLength: 255 });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const NameOrId = Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name) });
const UserRef = Type.Object({
  id: Type.Optional(Id),
  name: Type.Optional(Name),
  domain: Type.Optional(NameOrId),
});

export const AuthBody = Type.Object({
  auth: Type.Object({
    identity: Type.Object({
      methods: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 4 }),
      password: Type.Optional(
        Type.Object({
          user: Type.Object({
            id: Type.Optional(Id),
            name: Type.Optional(Name),
            domain: Type.Optional(NameOrId),
            password: Type.String({ maxLength: 4096 }),
          }),
        }),
      ),
      token: Type.Optional(Type.Object({ id: Type.String({ minLength: 1, maxLength: 8192 }) })),
      application_credential: Type.Optional(
        Type.Object({
          id: Type.Optional(Id),
          name: Type.Optional(Name),
          secret: Type.String({ maxLength: 4096 }),
          user: Type.Optional(UserRef),
        }),
      ),
    }),
    scope: Type.Optional(
      Type.Union([
        Type.Literal('unscoped'),
        Type.Object({
          project: Type.Optional(
            Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name), domain: Type.Optional(NameOrId) }),
          ),
          domain: Type.Optional(NameOrId),
          system: Type.Optional(Type.Unknown()),
          'OS-TRUST:trust': Type.Optional(Type.Unknown()),
        }),
      ]),
    ),
  }),
});

const Bool = Type.Boolean();
const Desc = Type.String({ maxLength: 65535 });
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^,/]*$' }), { maxItems: 80 });

export const DomainCreate = Type.Object({
  domain: Type.Object({ name: Name, description: Type.Optional(Desc), enabled: Type.Optional(Bool), tags: Type.Optional(Tags) }, { additionalProperties: true }),
});
export const DomainUpdate = Type.Object({
  domain: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Desc), enabled: Type.Optional(Bool) }, { additionalProperties: true }),
});

export const ProjectCreate = Type.Object({
  project: Type.Object(
    {
      name: Name,
      domain_id: Type.Optional(Type.Union([Id, Type.Null()])),
      parent_id: Type.Optional(Type.Union([Id, Type.Null()])),
      description: Type.Optional(Type.Union([Desc, Type.Null()])),
      enabled: Type.Optional(Bool),
      is_domain: Type.Optional(Bool),
      tags: Type.Optional(Tags),
      options: Type.Optional(Type.Object({})),
    },
    { additionalProperties: true },
  ),
});
export const ProjectUpdate = Type.Object({
  project: Type.Object(
    {
      name: Type.Optional(Name),
      description: Type.Optional(Type.Union([Desc, Type.Null()])),
      enabled: Type.Optional(Bool),
      tags: Type.Optional(Tags),
      options: Type.Optional(Type.Object({})),
    },
    { additionalProperties: true },
  ),
});

export const UserCreate = Type.Object({
  user: Type.Object(
    {
      name: Name,
      domain_id: Type.Optional(Type.Union([Id, Type.Null()])),
      default_project_id: Type.Optional(Type.Union([Id, Type.Null()])),
      password: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
      enabled: Type.Optional(Bool),
      description: Type.Optional(Type.Union([Desc, Type.Null()])),
      email: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
      options: Type.Optional(Type.Object({})),
    },
    { additionalProperties: true },
  ),
});
export const UserUpdate = Type.Object({
  user: Type.Object(
    {
      name: Type.Optional(Name),
      default_project_id: Type.Optional(Type.Union([Id, Type.Null()])),
      password: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
      enabled: Type.Optional(Bool),
      description: Type.Optional(Type.Union([Desc, Type.Null()])),
      email: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
      options: Type.Optional(Type.Object({})),
    },
    { additionalProperties: true },
  ),
});
export const PasswordChange = Type.Object({
  user: Type.Object({ password: Type.String({ minLength: 1, maxLength: 4096 }), original_password: Type.String({ maxLength: 4096 }) }),
});

export const GroupCreate = Type.Object({
  group: Type.Object({ name: Name, domain_id: Type.Optional(Id), description: Type.Optional(Desc) }, { additionalProperties: true }),
});
export const GroupUpdate = Type.Object({
  group: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Desc) }, { additionalProperties: true }),
});

export const RoleCreate = Type.Object({
  role: Type.Object(
    { name: Name, domain_id: Type.Optional(Type.Union([Id, Type.Null()])), description: Type.Optional(Desc), options: Type.Optional(Type.Object({})) },
    { additionalProperties: true },
  ),
});
export const RoleUpdate = Type.Object({
  role: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Desc), options: Type.Optional(Type.Object({})) }, { additionalProperties: true }),
});

export const RegionCreate = Type.Object({
  region: Type.Object(
    { id: Type.Optional(Id), description: Type.Optional(Desc), parent_region_id: Type.Optional(Type.Union([Id, Type.Null()])) },
    { additionalProperties: true },
  ),
});
export const RegionUpdate = Type.Object({
  region: Type.Object({ description: Type.Optional(Desc), parent_region_id: Type.Optional(Type.Union([Id, Type.Null()])) }, { additionalProperties: true }),
});

export const ServiceCreate = Type.Object({
  service: Type.Object(
    { type: Type.String({ minLength: 1, maxLength: 255 }), name: Type.Optional(Name), description: Type.Optional(Desc), enabled: Type.Optional(Bool) },
    { additionalProperties: true },
  ),
});
export const ServiceUpdate = Type.Object({
  service: Type.Object(
    { type: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), name: Type.Optional(Name), description: Type.Optional(Desc), enabled: Type.Optional(Bool) },
    { additionalProperties: true },
  ),
});

const Interface = Type.Union([Type.Literal('public'), Type.Literal('internal'), Type.Literal('admin')]);
const Url = Type.String({ minLength: 1, maxLength: 2048, pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*://' });
export const EndpointCreate = Type.Object({
  endpoint: Type.Object(
    {
      service_id: Id,
      interface: Interface,
      url: Url,
      region_id: Type.Optional(Type.Union([Id, Type.Null()])),
      region: Type.Optional(Type.Union([Id, Type.Null()])),
      enabled: Type.Optional(Bool),
    },
    { additionalProperties: true },
  ),
});
export const EndpointUpdate = Type.Object({
  endpoint: Type.Object(
    {
      service_id: Type.Optional(Id),
      interface: Type.Optional(Interface),
      url: Type.Optional(Url),
      region_id: Type.Optional(Type.Union([Id, Type.Null()])),
      region: Type.Optional(Type.Union([Id, Type.Null()])),
      enabled: Type.Optional(Bool),
    },
    { additionalProperties: true },
  ),
});

export const AppCredentialCreate = Type.Object({
  application_credential: Type.Object({
    name: Name,
    description: Type.Optional(Type.Union([Desc, Type.Null()])),
    secret: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()])),
    expires_at: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    roles: Type.Optional(Type.Array(Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name), domain_id: Type.Optional(Type.Union([Id, Type.Null()])) }))),
    unrestricted: Type.Optional(Bool),
    access_rules: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 0 })),
  }),
});

/** Query filters: only the ones we act on are declared; Keystone ignores the rest. */
export const NameFilter = Type.Object({ name: Type.Optional(Type.String()) }, { additionalProperties: true });
export const BoolQuery = Type.Union([Type.Boolean(), Type.String()]);

export const Params = <T extends Record<string, TSchema>>(props: T) => Type.Object(props);
export const IdParam = Params({ id: Type.String({ minLength: 1, maxLength: 255 }) });
