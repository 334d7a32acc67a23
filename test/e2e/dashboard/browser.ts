/**
 * Debian's chromium driven by playwright-core, for the dashboard journeys.
 * Each journey gets its own browser with a new, empty user-data dir. Without
 * /usr/bin/chromium the journeys are skipped with the package to install,
 * except under MAILPLANE_REQUIRE_TOOLS=1 (CI), where that is a failure.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { toolsRequired } from '../../support/real-tools.ts';

export const CHROMIUM = '/usr/bin/chromium';
/**
 * Where the journeys save their pictures: an ignored folder, so running the tests never changes a
 * tracked file. `npm run screenshots` runs the journeys and copies these over docs/screenshots/.
 */
export const SCREENSHOTS = process.env['MAILPLANE_SCREENSHOTS_DIR'] ?? join(import.meta.dirname, '../../../.screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 860 };

/** Why the journeys cannot run here, or null when they can. Throws under MAILPLANE_REQUIRE_TOOLS=1. */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const message = `${CHROMIUM} not found: install the Debian package chromium (apt-get install -y chromium) to run the dashboard browser tests`;
  if (toolsRequired()) throw new Error(`${message} (MAILPLANE_REQUIRE_TOOLS=1)`);
  return message;
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'mailplane-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu'],
    viewport: DESKTOP,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

let axeSource: string | null = null;

/**
 * axe-core on the current page: no serious or critical violation. The source
 * is evaluated through the DevTools protocol, which the page's CSP (scripts
 * from 'self' only) does not apply to, so the policy under test stays on.
 */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(`${axeSource}\n;undefined`);
  const violations = await page.evaluate(async () => {
    const result = await (
      globalThis as unknown as {
        axe: { run(o: unknown): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: unknown }> }> }> };
      }
    ).axe.run({ resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${label}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
}

/** Nothing wider than the screen at phone width (no sideways scrolling). */
export async function expectFitsPhone(page: Page, label: string): Promise<void> {
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(PHONE);
  // A string, evaluated in the page: this file is compiled without the DOM's types.
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  expect(overflow, `${label} overflows a 390 px screen by ${overflow} px`).toBeLessThanOrEqual(0);
  await page.setViewportSize(before);
}

/** Every main page: accessible, fits a phone, and saved for the README. */
export async function checkPage(page: Page, name: string, opts: { phoneShot?: boolean } = {}): Promise<void> {
  await page.waitForLoadState('load');
  await expectAccessible(page, name);
  await expectFitsPhone(page, name);
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  if (opts.phoneShot) {
    const before = page.viewportSize() ?? DESKTOP;
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(before);
  }
}

/** The newest link to `path` mailed to `to`, read from the sandbox mailbox page like a person would. */
export async function openMailedLink(page: Page, baseUrl: string, to: string, subject: RegExp, path: string): Promise<void> {
  await page.goto(`${baseUrl}/sandbox/mail`);
  const row = page.locator('tr', { hasText: to }).filter({ hasText: subject }).first();
  await row.getByRole('link').click();
  await page.locator(`pre a[href*="${path}"]`).first().click();
}
