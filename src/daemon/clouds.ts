import type { BootstrapSecrets } from '../core/identity/bootstrap.js';

export interface CloudsYamlInput {
  baseUrl: string;
  region: string;
  secrets: BootstrapSecrets;
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** A standard clouds.yaml with the demo cloud (`stacklet`) and the admin cloud (`stacklet-admin`). */
export function cloudsYaml({ baseUrl, region, secrets }: CloudsYamlInput): string {
  const cloud = (name: string, user: string, password: string) => `  ${name}:
    auth:
      auth_url: ${q(`${baseUrl}/identity`)}
      username: ${q(user)}
      password: ${q(password)}
      project_name: ${q(user)}
      user_domain_name: "Default"
      project_domain_name: "Default"
    region_name: ${q(region)}
    interface: "public"
    identity_api_version: 3
`;
  return `# Written by Stacklet. Use with: export OS_CLOUD=stacklet (or stacklet-admin)\nclouds:\n${cloud('stacklet', 'demo', secrets.demoPassword)}${cloud('stacklet-admin', 'admin', secrets.adminPassword)}`;
}

/** OS_* variables for a shell (`eval "$(stacklet openrc admin)"`). */
export function openrc({ baseUrl, region, secrets }: CloudsYamlInput, who: 'admin' | 'demo'): string {
  const password = who === 'admin' ? secrets.adminPassword : secrets.demoPassword;
  const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  return [
    `export OS_AUTH_URL=${sh(`${baseUrl}/identity`)}`,
    `export OS_USERNAME=${sh(who)}`,
    `export OS_PASSWORD=${sh(password)}`,
    `export OS_PROJECT_NAME=${sh(who)}`,
    `export OS_USER_DOMAIN_NAME=Default`,
    `export OS_PROJECT_DOMAIN_NAME=Default`,
    `export OS_REGION_NAME=${sh(region)}`,
    `export OS_IDENTITY_API_VERSION=3`,
    `export OS_INTERFACE=public`,
    '',
  ].join('\n');
}
