import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { REPO_ROOT, TestCloud } from '../helpers/cloud.js';
import { sh, sshFrom, tearDownSandboxCloud, TINY_CACHE, until } from '../helpers/sandbox.js';
import { pingFrom, tcpHello } from '../integration/host-network-machines.js';
import { ARTIFACTS, launchBrowser, logIn, openPage, type Browser } from './dashboard-browser.js';

/**
 * The dashboard's acceptance with a real VM: in a seeded sandbox cloud,
 * demo launches the tiny guest from the launch dialog with its defaults,
 * watches it reach ACTIVE, gives it a floating IP, opens its noVNC console
 * in the page (a real websocket to QEMU's VNC server, a framebuffer that
 * draws), sees it in the topology joined to router1 and public, asks "why
 * can't I reach it?" while tcp/22 is closed and after the rule is added (each
 * answer checked against a real connect from the sandbox host), and deletes
 * it. Real QEMU (TCG), bridges, nftables and dnsmasq in a sandbox namespace
 * this test made; every host name carries the prefix `slbd`. Screenshots go
 * to test-artifacts/dashboard-vm.
 */

const PREFIX = 'slbd';
const SANDBOX = `slbd-sbx-${process.pid}`;
const SHOTS = join(ARTIFACTS, '..', 'dashboard-vm');
const DIST = join(REPO_ROOT, 'dashboard', 'dist', 'index.html');

type Row = Record<string, unknown>;

/** The page's DOM as far as the in-page checks read it (the root project compiles without the DOM library). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
  toDataURL(type: string): string;
}
declare const document: { querySelector(selector: string): Canvas | null };

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The console canvas: its size, distinct colours (sampled) and the share of pixels that are not the background (the commonest colour). */
async function canvasStats(page: Page): Promise<{ width: number; height: number; colours: number; lit: number }> {
  return page.evaluate(() => {
    const c = document.querySelector('.vnc-screen canvas');
    const ctx = c?.getContext('2d');
    if (!c || !ctx || c.width === 0 || c.height === 0) return { width: 0, height: 0, colours: 0, lit: 0 };
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map<number, number>();
    let n = 0;
    for (let i = 0; i < d.length; i += 4 * 3) {
      const k = ((d[i] ?? 0) << 16) | ((d[i + 1] ?? 0) << 8) | (d[i + 2] ?? 0);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      n++;
    }
    const background = Math.max(...counts.values());
    return { width: c.width, height: c.height, colours: counts.size, lit: (n - background) / n };
  });
}

/**
 * How many pixels are drawn in each of the 25 text rows of a VGA text
 * screen (720x400: 80x25 cells of 9x16 pixels).
 */
async function textRowPixels(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const c = document.querySelector('.vnc-screen canvas');
    const ctx = c?.getContext('2d');
    if (!c || !ctx || c.width !== 720 || c.height !== 400) return [];
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const rows: number[] = [];
    for (let r = 0; r < 25; r++) {
      let lit = 0;
      for (let y = r * 16; y < r * 16 + 16; y++) {
        for (let x = 0; x < 720; x++) {
          const i = (y * 720 + x) * 4;
          if ((d[i] ?? 0) + (d[i + 1] ?? 0) + (d[i + 2] ?? 0) > 192) lit++;
        }
      }
      rows.push(lit);
    }
    return rows;
  });
}

/**
 * True when the screen ends the way the tiny guest's getty leaves it: a
 * line of text (the issue line), a blank line, and a line of text (the
 * login prompt, more than a cursor's few pixels). Before the getty the
 * screen ends with the boot loader's line and the cursor below it.
 */
function endsWithLoginPrompt(rows: number[]): boolean {
  const last = rows.reduce((at, n, i) => (n > 0 ? i : at), -1);
  return last >= 2 && (rows[last] ?? 0) > 60 && rows[last - 1] === 0 && (rows[last - 2] ?? 0) > 60;
}

describe('the dashboard with a real VM', { timeout: 900_000 }, () => {
  let cloud: TestCloud;
  let browser: Browser;
  const work = mkdtempSync(join(tmpdir(), 'slbd-'));
  const key = join(work, 'id');
  const demo = { cloud: 'stacklet' };
  let fip = '';
  const sshBanner = async () => (await tcpHello(SANDBOX, fip, 22, 2))?.startsWith('SSH-') === true;
  const ssh = (cmd: string) =>
    sshFrom(SANDBOX, key, `cirros@${fip}`, cmd, 60_000);

  before(async () => {
    assert.ok(existsSync(DIST), `the dashboard is not built (${DIST}): run scripts/setup.sh, or cd dashboard && npm ci && npm run build`);
    mkdirSync(SHOTS, { recursive: true });
    cloud = await TestCloud.start({ seed: true, args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_TINY_CACHE: TINY_CACHE } });
    const r = await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal(r.code, 0, r.stderr);
    await cloud.os(['keypair', 'create', '--public-key', `${key}.pub`, 'demo-key'], demo);
    // The seed opens tcp/22 in demo's default group; close it, so the panel has something to find.
    const rules = await cloud.osJson<Row[]>(['security', 'group', 'rule', 'list', 'default', '--protocol', 'tcp', '--ingress'], demo);
    assert.equal(rules.length, 1, `the seed's SSH rule: ${JSON.stringify(rules)}`);
    await cloud.os(['security', 'group', 'rule', 'delete', String(rules[0]?.['ID'])], demo);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tearDownSandboxCloud(cloud, PREFIX);
    rmSync(work, { recursive: true, force: true });
  });

  test('launch from the dialog, ACTIVE, floating IP, noVNC console, topology, "why can’t I reach it?" against a real connect, delete', async (t) => {
    const page = await browser.newPage();
    await logIn(page, cloud.baseUrl, 'demo', cloud.secrets.demoPassword);
    await shot(page, '01-overview');

    // Launch with the dialog's defaults: the tiny image, m1.nano, private, the only key, the default group.
    await openPage(page, 'Instances');
    await page.getByRole('button', { name: 'Launch instance' }).click();
    const d = page.getByRole('dialog', { name: 'Launch an instance' });
    await d.getByLabel('Name').fill('vm1');
    await d.getByLabel('Image').locator('option', { hasText: 'cirros' }).waitFor({ state: 'attached' });
    await d.getByLabel('Key pair').locator('option', { hasText: 'demo-key' }).waitFor({ state: 'attached' });
    assert.equal(await d.getByLabel('Image').locator('option:checked').textContent(), 'cirros');
    assert.match((await d.getByLabel('Flavor').locator('option:checked').textContent()) ?? '', /^m1\.nano/);
    assert.equal(await d.getByLabel('Network').locator('option:checked').textContent(), 'private');
    assert.equal(await d.getByLabel('Key pair').locator('option:checked').textContent(), 'demo-key');
    assert.equal(await d.getByLabel('default').isChecked(), true);
    await shot(page, '02-launch-dialog');
    await d.getByRole('button', { name: 'Launch' }).click();
    await d.waitFor({ state: 'hidden' });
    const row = page.locator('[data-server="vm1"]');
    await row.waitFor({ timeout: 30_000 });
    await shot(page, '03-instances-build');
    // The list keeps itself up to date: no reload between BUILD and ACTIVE.
    await row.locator('.status').getByText('ACTIVE', { exact: true }).waitFor({ timeout: 300_000 });
    await shot(page, '04-instances-active');
    const server = await cloud.osJson<Row>(['server', 'show', 'vm1'], demo);
    assert.equal(server['status'], 'ACTIVE');
    assert.equal(server['key_name'], 'demo-key');

    // A floating IP from the instance page.
    await row.getByRole('link', { name: 'vm1' }).click();
    await page.getByRole('heading', { name: 'vm1', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Associate floating IP' }).click();
    const f = page.getByRole('dialog', { name: 'Associate a floating IP with vm1' });
    await f.getByLabel('Floating IP').selectOption({ label: 'A new address from public' });
    await f.getByRole('button', { name: 'Associate' }).click();
    await f.waitFor({ state: 'hidden' });
    const fips = await cloud.osJson<Row[]>(['floating', 'ip', 'list', '--long'], demo);
    const mine = fips.find((x) => x['Port'] !== null && x['Fixed IP Address']);
    assert.ok(mine, JSON.stringify(fips));
    fip = String(mine['Floating IP Address']);
    await page.getByRole('button', { name: `Disassociate ${fip}` }).waitFor();
    await shot(page, '05-instance-fip');

    // The serial console log in the page: the guest is up and its SSH server runs from here on.
    await page.getByRole('tab', { name: 'Console log' }).click();
    // It follows the log by itself (every 3 s).
    await page.locator('.console-log').getByText(/Stacklet tiny guest ready/).waitFor({ timeout: 300_000 });
    await shot(page, '06-console-log');

    // The noVNC console: the socket connects through the console proxy and QEMU's screen is drawn.
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.getByRole('tab', { name: 'Console', exact: true }).click();
    await page.getByRole('button', { name: 'Open console' }).click();
    await page.getByRole('status').getByText('Connected: click the screen to type.').waitFor({ timeout: 60_000 });
    assert.ok(sockets.some((u) => /\/console\/websock(et|ify)\?token=/.test(u)), `console websocket: ${sockets.join(', ')}`);
    // The screen is shown at a size (a zero-sized canvas once hid it), and QEMU's VGA text has been drawn into it.
    const box = await until('the console screen laid out', async () => {
      const b = await page.locator('.vnc-screen canvas').boundingBox();
      return b && b.width > 300 && b.height > 150 ? b : undefined;
    }, 30_000);
    const screen = await until('the console framebuffer to draw', async () => {
      const s = await canvasStats(page);
      return s.colours > 1 && s.lit > 0.002 ? s : undefined;
    }, 60_000);
    t.diagnostic(`console: ${Math.round(box.width)}x${Math.round(box.height)} on the page, ${screen.width}x${screen.height} framebuffer, ${screen.colours} colours, ${(screen.lit * 100).toFixed(1)}% lit`);
    // The login prompt: the guest's getty on tty1 draws the issue line and `cirros login:` below the boot loaders' lines.
    const rows = await until('the login prompt on the console screen', async () => {
      const r = await textRowPixels(page);
      return endsWithLoginPrompt(r) ? r : undefined;
    }, 120_000).catch(async (err: unknown) => {
      t.diagnostic(`console text rows, pixels drawn: ${(await textRowPixels(page)).join(' ')}`);
      throw err;
    });
    t.diagnostic(`console text rows, pixels drawn: ${rows.join(' ')}`);
    // What the guest's VGA shows, as an artifact.
    const png = await page.evaluate(() => document.querySelector('.vnc-screen canvas')?.toDataURL('image/png') ?? '');
    writeFileSync(join(SHOTS, '07-console-framebuffer.png'), Buffer.from(png.slice(png.indexOf(',') + 1), 'base64'));
    await shot(page, '07-console');

    // "Why can't I reach it?" with tcp/22 closed: the missing rule, and a real connect that fails.
    await page.getByRole('tab', { name: 'Why can’t I reach it?' }).click();
    assert.equal(await page.getByLabel('Port').inputValue(), '22');
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByText('Not reachable', { exact: true }).waitFor();
    await page.locator('.blocker').getByText('no rule in security group default allows tcp/22 ingress').waitFor();
    await page.locator('.blocker').getByText('openstack security group rule create --protocol tcp --dst-port 22 default').waitFor();
    await shot(page, '08-explain-blocked');
    // Ping (the seed allows it) shows the path through the floating IP is wired: from then on a silent tcp/22 is the missing rule.
    await until('ping to the floating IP', async () => ((await pingFrom(SANDBOX, fip, { timeoutS: 2 })) ? true : undefined), 120_000);
    for (let i = 0; i < 3; i++) assert.equal(await sshBanner(), false, `tcp/22 on ${fip} answered although no rule allows it`);

    // The rule, added on the security groups page as a person would.
    await openPage(page, 'Security groups');
    await page.getByRole('button', { name: 'Add rule to default' }).click();
    const r = page.getByRole('dialog', { name: 'Add a rule to default' });
    await r.getByLabel('Protocol').selectOption('tcp');
    await r.getByLabel('Port or range').fill('22');
    await r.getByRole('button', { name: 'Add rule' }).click();
    await r.waitFor({ state: 'hidden' });
    await page.locator('[data-group="default"]').getByText('allows SSH (tcp/22) from anywhere').waitFor();
    await shot(page, '09-security-groups');

    await openPage(page, 'Instances');
    await page.locator('[data-server="vm1"]').getByRole('link', { name: 'vm1' }).click();
    await page.getByRole('tab', { name: 'Why can’t I reach it?' }).click();
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByText('Reachable', { exact: true }).waitFor();
    await shot(page, '10-explain-reachable');
    await until('the SSH banner from the floating IP', async () => ((await sshBanner()) ? true : undefined), 120_000);
    const hostname = await until('ssh into the guest with the launch dialog’s key', async () => {
      const s = await ssh('hostname');
      return s.code === 0 ? s.stdout.trim() : undefined;
    }, 120_000);
    assert.equal(hostname, 'vm1');

    // The topology: vm1 on private, behind router1, to public.
    await openPage(page, 'Network topology');
    for (const edge of ['public--router1', 'router1--private', 'private--vm1']) await page.locator(`[data-edge="${edge}"]`).waitFor();
    await page.getByRole('button', { name: /^Instance vm1/ }).click();
    await page.getByRole('complementary').getByRole('link', { name: 'Open instance vm1' }).waitFor();
    await shot(page, '11-topology');

    // Delete from the list; the qemu goes with it.
    await openPage(page, 'Instances');
    page.once('dialog', (dlg) => void dlg.accept());
    await page.getByRole('button', { name: 'Delete vm1' }).click();
    await page.locator('[data-server="vm1"]').waitFor({ state: 'detached', timeout: 120_000 });
    await page.getByText('No instances yet.').waitFor();
    await shot(page, '12-instances-empty');
    await until('the qemu of vm1 to exit', async () => ((await sh(['pgrep', '-f', String(server['id'])])).code !== 0 ? true : undefined), 60_000);
    await page.close();
  });
});
