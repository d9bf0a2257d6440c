import { existsSync, readFileSync } from 'node:fs';

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

/** A clouds.yaml that is missing, not readable as the YAML subset it is written in, or without the cloud asked for. */
export class CloudsFileError extends Error {
  override name = 'CloudsFileError';
}

type Node = string | { [key: string]: Node };

function scalar(raw: string, line: number): string {
  const v = raw.trim();
  if (v.startsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      throw new CloudsFileError(`line ${line}: a double-quoted value that does not end where it should`);
    }
  }
  if (v.startsWith("'")) {
    if (!v.endsWith("'") || v.length < 2) throw new CloudsFileError(`line ${line}: a single-quoted value that does not end`);
    return v.slice(1, -1).replaceAll("''", "'");
  }
  const hash = v.search(/\s#/);
  return (hash >= 0 ? v.slice(0, hash) : v).trim();
}

/**
 * Reads the YAML that clouds.yaml files are written in: nested mappings by
 * indentation with scalar values (plain, 'single' or "double" quoted),
 * comments and blank lines. Lists and flow style are not part of it: a
 * file that uses them is refused with its line, never half-read.
 */
export function parseCloudsYaml(text: string): Record<string, Node> {
  const root: Record<string, Node> = {};
  const stack: { indent: number; map: Record<string, Node> }[] = [{ indent: -1, map: root }];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    if (/^\s*(#.*)?$/.test(raw)) continue;
    if (raw.includes('\t')) throw new CloudsFileError(`line ${n}: tabs are not YAML indentation`);
    const indent = raw.length - raw.trimStart().length;
    const m = /^([A-Za-z0-9_.-]+|"[^"]*"|'[^']*'):(?:\s+(.*))?$/.exec(raw.trim());
    if (!m) throw new CloudsFileError(`line ${n}: expected "key: value" (lists and flow style are not read here)`);
    const key = scalar(m[1] ?? '', n);
    while ((stack[stack.length - 1]?.indent ?? -1) >= indent) stack.pop();
    const parent = stack[stack.length - 1];
    if (!parent) throw new CloudsFileError(`line ${n}: bad indentation`);
    const value = m[2] === undefined ? '' : m[2].trim();
    if (value === '' || value.startsWith('#')) {
      const child: Record<string, Node> = {};
      parent.map[key] = child;
      stack.push({ indent, map: child });
    } else {
      if (value.startsWith('[') || value.startsWith('{') || value.startsWith('- ')) throw new CloudsFileError(`line ${n}: flow style is not read here`);
      parent.map[key] = scalar(value, n);
    }
  }
  return root;
}

const str = (o: Node | undefined): string | undefined => (typeof o === 'string' && o !== '' ? o : undefined);

/** The named cloud's password credentials from a clouds.yaml file. */
export function readCloudCredentials(file: string, cloud: string): CloudCredentials {
  if (!existsSync(file)) throw new CloudsFileError(`no clouds.yaml at ${file}: start the cloud with \`stacklet up\`, or write it with \`stacklet clouds-yaml\``);
  const doc = parseCloudsYaml(readFileSync(file, 'utf8'));
  const clouds = doc['clouds'];
  if (typeof clouds !== 'object') throw new CloudsFileError(`${file} has no "clouds:" section`);
  const c = clouds[cloud];
  if (typeof c !== 'object') throw new CloudsFileError(`${file} has no cloud "${cloud}" (it has: ${Object.keys(clouds).join(', ') || 'none'})`);
  const auth = c['auth'];
  if (typeof auth !== 'object') throw new CloudsFileError(`cloud "${cloud}" in ${file} has no auth section`);
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
