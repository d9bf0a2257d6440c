import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's chromium, headless, driven by playwright-core (no browser can be
 * downloaded here). The flags keep it from reaching for the internet
 * (component updates, sync, QUIC probes) and the profile is fresh per run.
 */
/** The page's DOM, typed as far as the in-page checks use it (the root project compiles without the DOM library). */
interface DomEl {
  id: string;
  tagName: string;
  outerHTML: string;
  textContent: string | null;
  offsetParent: unknown;
  hasAttribute(name: string): boolean;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  closest(selector: string): DomEl | null;
  blur(): void;
}
interface DomList {
  length: number;
  forEach(f: (e: DomEl) => void): void;
  [Symbol.iterator](): Iterator<DomEl>;
}
declare const document: {
  activeElement: DomEl | null;
  body: DomEl;
  getElementById(id: string): DomEl | null;
  querySelector(selector: string): DomEl | null;
  querySelectorAll(selector: string): DomList;
};

export const CHROMIUM = process.env['STACKLET_CHROMIUM'] ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Starts chromium with a fresh profile directory, removed on close. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'stacklet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1360, height: 860 },
    acceptDownloads: true,
  });
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where the browser tests leave their screenshots (gitignored). */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');

/** Logs in through the form and waits for the overview. */
export async function logIn(page: Page, baseUrl: string, user: string, password: string, domain = 'Default'): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Domain').fill(domain);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /^Overview of project/ }).waitFor({ timeout: 15_000 });
}

/** Goes to a page through the side navigation, as a person would. */
export async function openPage(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  // Let the first lists arrive so the screenshot and the accessibility check see the page, not its spinner.
  await page.waitForFunction(() => document.querySelectorAll('.loading').length === 0, undefined, { timeout: 15_000 }).catch(() => undefined);
}

/**
 * Tabs through the page and returns the interactive elements never reached
 * by keyboard and those reached without an accessible name.
 */
export async function keyboardAudit(page: Page, maxTabs = 200): Promise<{ unreachable: string[]; unnamed: string[] }> {
  await page.evaluate(() => {
    document.querySelectorAll('[data-kbd-seen]').forEach((e) => e.removeAttribute('data-kbd-seen'));
    document.activeElement?.blur();
  });
  const unnamed = new Set<string>();
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return undefined;
      const seen = el.hasAttribute('data-kbd-seen');
      el.setAttribute('data-kbd-seen', '1');
      const labelled = (el.getAttribute('aria-labelledby') ?? '')
        .split(' ')
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join('');
      const forLabel = el.id ? (document.querySelector(`label[for="${el.id}"]`)?.textContent ?? '') : '';
      const name = (el.getAttribute('aria-label') ?? '') + labelled + forLabel + (el.closest('label')?.textContent ?? '') + (el.tagName === 'INPUT' ? '' : (el.textContent ?? ''));
      return { seen, desc: `${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`, named: name.trim().length > 0 };
    });
    if (!info) continue;
    if (info.seen) break;
    if (!info.named) unnamed.add(info.desc);
  }
  const unreachable = await page.evaluate(() =>
    [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex="0"]')]
      .filter((e) => e.offsetParent !== null && !e.hasAttribute('data-kbd-seen') && !e.closest('dialog:not([open])'))
      .filter((e) => !(e.getAttribute('role') === 'tab' && e.getAttribute('aria-selected') === 'false'))
      .map((e) => e.outerHTML.slice(0, 100)),
  );
  return { unreachable, unnamed: [...unnamed] };
}
