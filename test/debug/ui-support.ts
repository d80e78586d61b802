/**
 * The debug UI in a real browser: Debian's Chromium (/usr/bin/chromium; `.ci/run` installs it)
 * driven by playwright-core, against Trellis started for real on a copy of the example mesh.
 * A missing browser fails the run: there is no skipping here.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { RunningTrellis } from '../../src/pipeline/index.ts';
import { startExampleMesh } from '../support/example-mesh.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** Kept after the run (gitignored): one screenshot per view. */
export const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts/ui');

// Without the background-networking flags Chromium's own connections are refused by a closed network.
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

/** A Service with a port out of range: something for the problems view to show, at a file and field. */
const BROKEN = 'apiVersion: v1\nkind: Service\nmetadata: { name: broken, namespace: shop }\nspec: { ports: [{ name: http, port: 70000 }] }\n';

export interface UiMesh {
  readonly trellis: RunningTrellis;
  readonly base: string;
  readonly xds: string;
  close(): Promise<void>;
}

/** Trellis on a copy of examples/mesh (with one broken manifest), xDS and debug on 127.0.0.1 port 0. */
export async function startUiMesh(): Promise<UiMesh> {
  const mesh = await startExampleMesh({ 'shop/broken.yaml': BROKEN });
  return { trellis: mesh.trellis, base: `http://${mesh.debug}`, xds: mesh.xds, close: () => mesh.close() };
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  const profile = await mkdtemp(join(tmpdir(), 'trellis-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A page that records console errors, uncaught exceptions and CSP violations. */
export async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.setDefaultTimeout(15_000);
  return { page, errors };
}

/** axe-core's serious and critical violations on the page as it is, one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact ?? ''} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
