import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The credentials of one cloud of a clouds.yaml, as `openstack --os-cloud` reads them. */
export interface CloudCredentials {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  regionName: string | undefined;
}

/** A clouds.yaml that is missing, not valid YAML, or without the cloud asked for. */
export class CloudsFileError extends Error {
  override name = 'CloudsFileError';
}

type Mapping = Record<string, unknown>;

const isMapping = (o: unknown): o is Mapping => typeof o === 'object' && o !== null && !Array.isArray(o);

/** Parses a clouds.yaml (any YAML: users edit these files), refusing what is not a mapping at the top. */
export function parseCloudsYaml(text: string): Mapping {
  let doc: unknown;
  try {
    // Merge keys as PyYAML (and so the openstack CLI) reads them.
    doc = parse(text, { prettyErrors: true, merge: true });
  } catch (err) {
    throw new CloudsFileError(`not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isMapping(doc)) throw new CloudsFileError('expected a mapping with a "clouds:" key at the top');
  return doc;
}

const str = (o: unknown): string | undefined => (typeof o === 'string' && o !== '' ? o : typeof o === 'number' ? String(o) : undefined);

/** The named cloud's password credentials from a clouds.yaml file. */
export function readCloudCredentials(file: string, cloud: string): CloudCredentials {
  if (!existsSync(file)) throw new CloudsFileError(`no clouds.yaml at ${file}: start the cloud with \`stacklet up\`, or write it with \`stacklet clouds-yaml\``);
  const doc = parseCloudsYaml(readFileSync(file, 'utf8'));
  const clouds = doc['clouds'];
  if (!isMapping(clouds)) throw new CloudsFileError(`${file} has no "clouds:" section`);
  const c = clouds[cloud];
  if (!isMapping(c)) throw new CloudsFileError(`${file} has no cloud "${cloud}" (it has: ${Object.keys(clouds).join(', ') || 'none'})`);
  const auth = c['auth'];
  if (!isMapping(auth)) throw new CloudsFileError(`cloud "${cloud}" in ${file} has no auth section`);
  const need = (k: string): string => {
    const v = str(auth[k]);
    if (v === undefined) throw new CloudsFileError(`cloud "${cloud}" in ${file} has no auth.${k}`);
    return v;
  };
  const domain = str(auth['user_domain_name']) ?? str(auth['domain_name']) ?? 'Default';
  return {
    authUrl: need('auth_url'),
    username: need('username'),
    password: need('password'),
    projectName: need('project_name'),
    userDomainName: domain,
    projectDomainName: str(auth['project_domain_name']) ?? domain,
    regionName: str(c['region_name']),
  };
}
