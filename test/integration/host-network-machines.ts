import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { SpawnExec } from '../../src/host/exec.js';

/**
 * Test machines for the host network tests: a namespace with a veth whose
 * host end (named like the port's tap) sits in the sandbox and whose guest
 * end (eth0) takes the port's MAC and gets its address by DHCP with
 * busybox udhcpc, as a VM would. Test-only: the product never makes these.
 */

export const run = new SpawnExec();

/** argv runner that returns the exit code instead of throwing (for "this must fail" checks). */
export async function tryRun(argv: string[], netns: string, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const r = await run.run(argv, { netns, timeoutMs, readOnly: true });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { exitCode?: number | null; stderr?: string };
    return { code: e.exitCode ?? null, stdout: '', stderr: e.stderr ?? String(err) };
  }
}

const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc event script of the test machines: applies the lease like a guest would, and records it.
env | sort > "$LEASE_OUT.$1"
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
    elif [ -n "$router" ]; then
      ip route replace default via "$router" dev "$interface"
    fi
    ;;
esac
exit 0
`;

export async function writeDhcpScript(dir: string): Promise<string> {
  const path = join(dir, 'udhcpc.sh');
  await writeFile(path, UDHCPC_SCRIPT);
  await chmod(path, 0o755);
  return path;
}

export interface Lease {
  ip: string;
  mask: string;
  router?: string;
  dns?: string;
  mtu?: string;
  domain?: string;
  staticroutes?: string;
  hostname?: string;
}

export class TestMachine {
  constructor(
    readonly netns: string,
    readonly sandbox: string,
    readonly hostEnd: string,
    readonly mac: string,
  ) {}

  /** Makes the machine: its namespace and a veth into the sandbox. */
  static async create(netns: string, sandbox: string, hostEnd: string, mac: string): Promise<TestMachine> {
    await run.run(['ip', 'netns', 'add', netns]);
    await run.run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    await run.run(['ip', '-n', sandbox, 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'address', mac, 'netns', netns]);
    await run.run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    return new TestMachine(netns, sandbox, hostEnd, mac);
  }

  /** Gets an address by DHCP; resolves with what the server handed out. */
  async dhcp(script: string, dir: string): Promise<Lease> {
    const out = join(dir, `lease-${this.netns}`);
    const argv = ['ip', 'netns', 'exec', this.netns, 'busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '6', '-T', '1', '-s', script, '-O', 'staticroutes', '-O', 'mtu', '-O', 'domain'];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(argv[0] ?? 'ip', argv.slice(1), { env: { ...process.env, LEASE_OUT: out }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`udhcpc in ${this.netns} exited ${code}: ${err}`))));
    });
    const env = new Map(
      (await readFile(`${out}.bound`, 'utf8'))
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    const lease: Lease = { ip: env.get('ip') ?? '', mask: env.get('mask') ?? '' };
    for (const k of ['router', 'dns', 'mtu', 'domain', 'staticroutes', 'hostname'] as const) {
      const v = env.get(k);
      if (v !== undefined) lease[k] = v.trim();
    }
    return lease;
  }

  ping(ip: string, opts: { count?: number; timeoutS?: number } = {}): Promise<boolean> {
    return pingFrom(this.netns, ip, opts);
  }

  async exec(argv: string[]): Promise<string> {
    return (await run.run(argv, { netns: this.netns, readOnly: true })).stdout;
  }
}

/** One ping from inside a namespace; true when answered. */
export async function pingFrom(netns: string, ip: string, opts: { count?: number; timeoutS?: number } = {}): Promise<boolean> {
  const r = await tryRun(['busybox', 'ping', '-c', String(opts.count ?? 1), '-W', String(opts.timeoutS ?? 1), ip], netns, 15_000);
  return r.code === 0;
}

/** Opens a TCP connection from a namespace and returns the first line the server sends, or null if none within the time. */
export async function tcpHello(netns: string, ip: string, port: number, timeoutS = 1): Promise<string | null> {
  const r = await tryRun(['busybox', 'nc', '-w', String(timeoutS), ip, String(port)], netns, 10_000);
  const line = r.stdout.split('\n')[0]?.trim() ?? '';
  return line === '' ? null : line;
}

/**
 * A TCP server in a namespace that greets every connection with
 * `<greeting> <peer address>` and closes: stands in for SSH, and shows
 * the source address a connection arrived with (SNAT checks).
 */
export async function startGreeter(netns: string, host: string, port: number, greeting: string): Promise<ChildProcess> {
  const code = `const s=require('net').createServer(c=>{c.end(process.argv[1]+' '+c.remoteAddress+'\\n')});s.listen(${port},${JSON.stringify(host)},()=>console.log('ready'));`;
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code, greeting], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`greeter in ${netns} exited ${c}`)));
  });
  return child;
}
