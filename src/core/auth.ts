/** What a validated token says about its bearer; every service's handlers receive it. */
export interface RoleRef {
  id: string;
  name: string;
}

export interface AuthContext {
  token: string;
  userId: string;
  userName: string;
  userDomainId: string;
  userDomainName: string;
  /** Set for a project-scoped token. */
  projectId?: string;
  projectName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
  /** Set for a domain-scoped token. */
  domainId?: string;
  domainName?: string;
  /** Effective roles on the scope, implied roles included. */
  roles: RoleRef[];
  methods: string[];
  auditIds: string[];
  issuedAt: string;
  expiresAt: string;
  appCredentialId?: string;
  /** True when the bearer holds the admin role (cloud-wide admin, as Keystone's default policy treats it). */
  isAdmin: boolean;
  isMember: boolean;
  isReader: boolean;
}
