import { spawn, type ChildProcess } from 'node:child_process';

/**
 * One process inside a network namespace that connects to port 22 of each
 * address every 50 ms until it reads an SSH banner, and reports the
 * wall-clock time it did. One process for all addresses, so probing 20
 * guests costs what probing one does (20 node processes would be load of
 * their own on a 2-core machine).
 */
export interface SshProbe {
  /** Resolves once the probe runs (start the clock after it). */
  ready: Promise<void>;
  /** Date.now() at each address's first SSH banner. */
  bannerAt(ip: string): Promise<number>;
  child: ChildProcess;
}

export function sshProbe(ns: string, ips: readonly string[], timeoutMs: number): SshProbe {
  const code = `
    const net = require('node:net');
    const deadline = Date.now() + ${timeoutMs};
    const ips = ${JSON.stringify(ips)};
    let left = ips.length;
    console.log('ready');
    const tryOnce = (ip) => {
      const s = net.connect(22, ip);
      let buf = '';
      const retry = () => { s.destroy(); if (Date.now() > deadline) process.exit(1); setTimeout(() => tryOnce(ip), 50); };
      s.setTimeout(2000, retry);
      s.on('error', retry);
      s.on('data', (d) => {
        buf += d;
        if (!buf.startsWith('SSH-')) return;
        console.log('banner ' + ip + ' ' + Date.now());
        s.destroy();
        if (--left === 0) process.exit(0);
      });
    };
    ips.forEach(tryOnce);
  `;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout?.setEncoding('utf8');
  const waiters = new Map<string, { resolve: (t: number) => void; reject: (e: Error) => void; promise: Promise<number> }>();
  for (const ip of ips) {
    let resolve: (t: number) => void = () => undefined;
    let reject: (e: Error) => void = () => undefined;
    const promise = new Promise<number>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined);
    waiters.set(ip, { resolve, reject, promise });
  }
  let readyFn: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyFn = r));
  let buf = '';
  child.stdout?.on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') readyFn();
      const m = /^banner (\S+) (\d+)$/.exec(line);
      if (m?.[1] && m[2]) waiters.get(m[1])?.resolve(Number(m[2]));
    }
  });
  child.on('exit', () => {
    for (const [ip, w] of waiters) w.reject(new Error(`no SSH banner from ${ip}`));
  });
  return {
    ready,
    child,
    bannerAt: (ip) => waiters.get(ip)?.promise ?? Promise.reject(new Error(`${ip} is not probed`)),
  };
}
