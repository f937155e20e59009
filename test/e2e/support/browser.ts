/**
 * Chromium for the end-to-end tests: Debian's /usr/bin/chromium through playwright-core,
 * headless, each profile in its own fresh user-data directory. A persistent context keeps its
 * profile (IndexedDB: the renderer's identity) across a "browser restart".
 *
 * No Chromium → the tests fail, loudly and with the reason: CI installs it, so its absence is a
 * broken environment, not something to skip over.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../support/cli.js';

export const CHROMIUM_PATH = process.env.KITH_E2E_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots go (gitignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

/** Throws with a clear reason when Chromium is not installed. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `end-to-end tests need Chromium at ${CHROMIUM_PATH} and it is missing: install it (Debian: apt-get install chromium) or point KITH_E2E_CHROMIUM at a Chromium binary`,
    );
  }
}

export interface Profile {
  readonly context: BrowserContext;
  readonly userDataDir: string;
  /** Opens a page; console errors and page errors are collected in `errors`. */
  page(): Promise<Page>;
  readonly errors: string[];
  close(): Promise<void>;
}

export interface ProfileOptions {
  /** Reuse this user-data directory (a restart of the same profile). */
  readonly userDataDir?: string;
  /** Extra Chromium switches (fake camera, host resolver rules). */
  readonly args?: readonly string[];
  /** Permissions to grant (e.g. ['camera'] for an origin). */
  readonly grant?: { readonly origin: string; readonly permissions: readonly string[] };
}

/** Launches a persistent Chromium profile (fresh unless `userDataDir` is given). */
export async function launchProfile(options: ProfileOptions = {}): Promise<Profile> {
  assertChromium();
  const userDataDir = options.userDataDir ?? (await mkdtemp(join(tmpdir(), 'kith-e2e-profile-')));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    viewport: { width: 1100, height: 800 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  if (options.grant) await context.grantPermissions([...options.grant.permissions], { origin: options.grant.origin });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    context,
    userDataDir,
    errors,
    async page() {
      const existing = context.pages().find((p) => p.url() === 'about:blank');
      return existing ?? (await context.newPage());
    },
    close: () => context.close(),
  };
}

/** Removes a profile directory made by `launchProfile`. */
export async function removeProfile(userDataDir: string): Promise<void> {
  await rm(userDataDir, { recursive: true, force: true });
}

/**
 * Writes a screenshot of `page` to test-artifacts/NAME.png and returns its path. The path is
 * printed (a `# screenshot: …` line in the test output), so a CI log that does not keep the
 * folder still says where each picture was written and under which name.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}
