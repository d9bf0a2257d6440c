/**
 * The dashboard's size and speed:
 *
 *   node dist/bench/dashboard.js
 *
 * Prints the gzipped size of every built asset, split into what the login
 * page loads and what loads later (the noVNC client only when a console
 * opens), then first paint and first contentful paint of the login page and
 * of the overview after logging in, measured in Debian's chromium over
 * loopback against a real Stacklet (median of several cold loads).
 *
 * Targets (issue 7): first paint ≤ 1 s on loopback; JS ≤ 400 KB gzipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO_ROOT, TestCloud } from '../test/helpers/cloud.js';
import { launchBrowser, logIn } from '../test/e2e/dashboard-browser.js';

const DIST = join(REPO_ROOT, 'dashboard', 'dist');
const RUNS = Number(process.env['RUNS'] ?? 7);

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

function bundleSizes(): { initialJs: number; lazyJs: number } {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1] ?? ''));
  let initialJs = 0;
  let lazyJs = 0;
  console.log('asset                                   raw        gzip   loaded');
  for (const name of readdirSync(join(DIST, 'assets')).sort()) {
    const raw = readFileSync(join(DIST, 'assets', name));
    const gz = gzipSync(raw, { level: 9 }).length;
    const first = initial.has(`assets/${name}`);
    if (name.endsWith('.js')) {
      if (first) initialJs += gz;
      else lazyJs += gz;
    }
    console.log(`${name.padEnd(38)} ${kb(raw.length).padStart(10)} ${kb(gz).padStart(10)}   ${first ? 'at start' : 'on demand'}`);
  }
  console.log(`JS loaded at start: ${kb(initialJs)} gzipped (target ≤ 400 KB); on demand: ${kb(lazyJs)}; all JS: ${kb(initialJs + lazyJs)}`);
  return { initialJs, lazyJs };
}

interface Paint {
  fp: number;
  fcp: number;
}

async function main(): Promise<void> {
  bundleSizes();
  const c = await TestCloud.start();
  const browser = await launchBrowser();
  try {
    const login: Paint[] = [];
    const overview: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // A fresh page with the cache bypassed: a cold load every time.
      const page = await browser.newPage();
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await page.goto(`${c.baseUrl}/`, { waitUntil: 'load' });
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      const paints = await page.evaluate(() => {
        const perf = (globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string; startTime: number }[] } }).performance;
        return perf.getEntriesByType('paint').map((e) => [e.name, e.startTime] as const);
      });
      const get = (n: string) => paints.find(([name]) => name === n)?.[1] ?? NaN;
      login.push({ fp: get('first-paint'), fcp: get('first-contentful-paint') });
      const t0 = Date.now();
      await logIn(page, c.baseUrl, 'demo', c.secrets.demoPassword);
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.loading').length === 0);
      overview.push(Date.now() - t0);
      await page.close();
    }
    const fp = median(login.map((p) => p.fp));
    const fcp = median(login.map((p) => p.fcp));
    console.log(`login page, cold load over loopback (median of ${RUNS}): first paint ${fp.toFixed(0)} ms, first contentful paint ${fcp.toFixed(0)} ms (target ≤ 1000 ms)`);
    console.log(`  all runs FP: ${login.map((p) => p.fp.toFixed(0)).join(', ')} ms`);
    console.log(`log in (password, scope, catalog) to overview loaded: median ${median(overview)} ms (runs: ${overview.join(', ')})`);
  } finally {
    await browser.close();
    await c.stop();
  }
}

await main();
