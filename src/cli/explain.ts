import { parseArgs } from 'node:util';
import type { Explanation, Probe, Protocol } from '../core/explain/model.js';
import { probeText } from '../core/explain/match.js';
import { ApiError, type CloudClient } from './client.js';

/** `stacklet explain` usage, for the command list and its own errors. */
export const EXPLAIN_USAGE =
  'stacklet explain SERVER [--from host|SERVER] [--protocol icmp|tcp|udp] [--port N] [--cloud stacklet|stacklet-admin] [--data-dir DIR] [--json]';

/** A command line that cannot be run as given (exit status 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ExplainArgs {
  /** Name or ID of the instance to reach. */
  server: string;
  /** 'host', or the name or ID of the instance the packets leave from. */
  from: string;
  probe: Probe;
  cloud: string;
  dataDir: string | undefined;
  json: boolean;
}

const PROTOCOLS: readonly Protocol[] = ['icmp', 'tcp', 'udp'];

/**
 * Reads `stacklet explain`'s arguments. Without --protocol it checks tcp,
 * and tcp without --port checks 22 (SSH), the question people ask first;
 * udp needs its port and icmp takes none.
 */
export function parseExplainArgs(argv: string[]): ExplainArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        from: { type: 'string' },
        protocol: { type: 'string' },
        port: { type: 'string' },
        cloud: { type: 'string' },
        'data-dir': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${EXPLAIN_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new UsageError(`${positionals.length === 0 ? 'name the instance to check' : `one instance at a time, got ${positionals.join(' ')}`}\nusage: ${EXPLAIN_USAGE}`);
  }
  const server = positionals[0] ?? '';
  const protocol = (values.protocol ?? 'tcp').toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`--protocol takes icmp, tcp or udp, not "${values.protocol ?? ''}"`);
  let probe: Probe;
  if (protocol === 'icmp') {
    if (values.port !== undefined) throw new UsageError('ICMP has no port: leave --port out');
    probe = { protocol: 'icmp' };
  } else {
    const raw = values.port ?? (protocol === 'tcp' ? '22' : undefined);
    if (raw === undefined) throw new UsageError(`give the ${protocol} port to check, e.g. --port 53`);
    const port = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port takes a number from 1 to 65535, not "${raw}"`);
    probe = { protocol: protocol as Protocol, port };
  }
  const from = values.from ?? 'host';
  if (from === '') throw new UsageError('--from takes "host" or an instance name or ID');
  if (from === server) throw new UsageError('the source and the target are the same instance');
  return { server, from, probe, cloud: values.cloud ?? 'stacklet', dataDir: values['data-dir'], json: values.json === true };
}

/** The parts of a server the command shows. */
export interface ServerRef {
  id: string;
  name: string;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Finds a server by ID or by exact name, as `openstack server show` does:
 * the ID first, then Nova's name filter (a regular expression there, so
 * anchored and escaped here); two servers with that name is an error that
 * asks for the ID.
 */
export async function findServer(client: CloudClient, nameOrId: string): Promise<ServerRef> {
  const compute = client.endpoint('compute');
  const byId = await client.get<{ server: ServerRef }>(`${compute}/servers/${encodeURIComponent(nameOrId)}`);
  if (byId.status === 200 && byId.body) return { id: byId.body.server.id, name: byId.body.server.name };
  if (byId.status !== 404) throw new ApiError(byId.status, byId.message);
  const list = await client.get<{ servers: ServerRef[] }>(`${compute}/servers?name=${encodeURIComponent(`^${escapeRegex(nameOrId)}$`)}`);
  if (!list.body) throw new ApiError(list.status, list.message);
  const exact = list.body.servers.filter((s) => s.name === nameOrId);
  if (exact.length === 0) throw new ApiError(404, `No server with a name or ID of '${nameOrId}' exists.`);
  if (exact.length > 1) throw new ApiError(409, `More than one server exists with the name '${nameOrId}': give its ID (${exact.map((s) => s.id).join(', ')}).`);
  const s = exact[0] as ServerRef;
  return { id: s.id, name: s.name };
}

/** Asks the cloud why (or whether) `server` can be reached; resolves names first. */
export async function fetchExplanation(client: CloudClient, args: ExplainArgs): Promise<{ target: ServerRef; source: ServerRef | 'host'; explanation: Explanation }> {
  const target = await findServer(client, args.server);
  const source = args.from === 'host' ? 'host' : await findServer(client, args.from);
  if (source !== 'host' && source.id === target.id) throw new UsageError('the source and the target are the same instance');
  const q = new URLSearchParams({ server: target.id, from: source === 'host' ? 'host' : source.id, protocol: args.probe.protocol });
  if (args.probe.port !== undefined) q.set('port', String(args.probe.port));
  const r = await client.get<Explanation>(`${client.baseUrl}/stacklet/v1/explain?${q.toString()}`);
  if (!r.body) throw new ApiError(r.status, r.message);
  return { target, source, explanation: r.body };
}

/** "over tcp/22", "with ping (icmp)". */
function over(p: Probe): string {
  return p.protocol === 'icmp' ? 'with ping (icmp)' : `over ${probeText(p)}`;
}

/** The answer in plain sentences: the verdict, each step walked, and the first blocker with its fix. */
export function renderExplanation(e: Explanation, target: ServerRef, source: ServerRef | 'host', probe: Probe): string {
  const from = source === 'host' ? 'the host' : `instance ${source.name || source.id}`;
  const name = target.name || target.id;
  const lines = [e.reachable ? `${name} is reachable from ${from} ${over(probe)}.` : `${name} is NOT reachable from ${from} ${over(probe)}.`];
  for (const s of e.steps) lines.push(`  ${s.ok ? 'ok     ' : 'BLOCKED'}  ${s.check}: ${s.detail}`);
  if (e.blocker) {
    const verb = e.blocker.fix.startsWith('openstack security group rule create') ? 'add it' : 'fix';
    lines.push(`${e.blocker.message} — ${verb}: ${e.blocker.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
