/**
 * /debug/ui in Chromium against Trellis on the example mesh, with two real ADS clients: one that
 * ACKs, and one whose node id holds markup and that NACKs with a message holding markup. The NACK
 * shows within a second without a reload, the markup stays text, the page logs no error (a CSP
 * violation is one), axe-core finds nothing serious or critical on any view, and every deep link
 * opens its view. Screenshots of each view go to test-artifacts/ui/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SotwClient } from '../support/ads-client.ts';
import { CDS, LDS } from '../support/resources.ts';
import { launchBrowser, openPage, screenshot, seriousViolations, startUiMesh, type Browser, type UiMesh } from './ui-support.ts';

const GOOD = 'frontend-6d9f7-a1.shop';
const EVIL = '<img src=x onerror=alert(1)>.shop';
const MESSAGE = 'cluster rejected: <img src=x onerror=alert(1)><script>alert(2)</script> & "quotes"';
const POLICY = 'TrafficPolicy shop/catalog-resilience';
const CATALOG_CLUSTER = 'outbound|50051||catalog.shop.svc.cluster.local';

let mesh: UiMesh;
let browser: Browser;
let good: SotwClient;
let evil: SotwClient;

beforeAll(async () => {
  mesh = await startUiMesh();
  good = await SotwClient.connect(mesh.xds, { node: { id: GOOD, cluster: 'frontend.shop' } });
  good.subscribe(CDS);
  good.ack(await good.next(CDS, 20_000));
  evil = await SotwClient.connect(mesh.xds, { node: { id: EVIL, cluster: 'evil.shop' } });
  evil.subscribe(LDS);
  evil.ack(await evil.next(LDS, 20_000));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  good?.close();
  evil?.close();
  await browser?.close();
  await mesh?.close();
});

/**
 * Waits out the feed's rate limit: until a second has passed since its last event with no other
 * sent meanwhile (an event held back in the window of the one before goes out within it).
 */
async function feedQuiet(base: string): Promise<void> {
  for (let seen = -1; ;) {
    const last = await latestEvent(base);
    if (last.epoch === seen) return;
    seen = last.epoch;
    const window = last.at + 1_000 - Date.now();
    if (window > 0) await new Promise((resolve) => setTimeout(resolve, window + 100));
  }
}

/** The last event /debug/events sent (its first frame says so). */
async function latestEvent(base: string): Promise<{ epoch: number; at: number }> {
  const abort = new AbortController();
  const res = await fetch(`${base}/debug/events`, { signal: abort.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('\n\n', text.indexOf('data:'))) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  abort.abort();
  return JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? 'null') as { epoch: number; at: number };
}

async function heading(page: Page): Promise<string> {
  return (await page.locator('main h1').textContent()) ?? '';
}

describe('/debug/ui in Chromium', () => {
  it('shows a NACK within a second without reload, its markup and the node id as text, traced to its TrafficPolicy', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${mesh.base}/debug/ui`);
    await page.locator('main a', { hasText: GOOD }).waitFor();
    const evilLink = page.locator('main a', { hasText: EVIL });
    await evilLink.waitFor();
    expect(await evilLink.textContent()).toBe(EVIL);
    await page.locator('#live', { hasText: 'live' }).waitFor();

    // The feed sends at most one event a second: let the window of the last one pass (a rate limit,
    // not a synchronisation), so that the NACK is the first change after it and is told at once.
    await feedQuiet(mesh.base);

    evil.subscribe(CDS);
    const clusters = await evil.next(CDS, 20_000);
    expect(clusters.resources.map((r) => r.name)).toContain(CATALOG_CLUSTER);
    const nackedAt = Date.now();
    evil.nack(clusters, MESSAGE);
    const message = page.locator('pre.message', { hasText: 'cluster rejected:' });
    const shown = page.locator('li.nack').locator(message);
    await shown.waitFor({ state: 'visible', timeout: 1_000 });
    expect(Date.now() - nackedAt).toBeLessThan(1_000);

    expect(await shown.textContent()).toBe(MESSAGE);
    expect([await page.locator('img').count(), await page.locator('main script').count()]).toEqual([0, 0]);
    const nack = page.locator('li.nack', { has: message });
    expect(await nack.locator('a').first().textContent()).toBe(EVIL);
    await nack.locator('a', { hasText: POLICY }).click();
    await page.locator('main h1', { hasText: POLICY }).waitFor();
    await page.locator('main', { hasText: 'rejected by 1/2' }).first().waitFor();
    expect(await page.locator('main li.nack pre.message').textContent()).toBe(MESSAGE);
    await screenshot(page, 'nack-policy');
    expect(errors).toEqual([]);
    await page.close();
  });

  const views: [string, string, string][] = [
    ['proxies', '#/proxies', 'Proxies'],
    ['proxy', `#/proxy/${encodeURIComponent(EVIL)}`, `Proxy ${EVIL}`],
    ['resource', `#/proxy/${encodeURIComponent(GOOD)}/resource/CDS/${encodeURIComponent(CATALOG_CLUSTER)}`, `CDS ${CATALOG_CLUSTER}`],
    ['policies', '#/policies', 'TrafficPolicies'],
    ['policy', '#/policy/shop/catalog-resilience', POLICY],
    ['problems', '#/problems', 'Configuration problems'],
    ['services', '#/services', 'Services'],
    ['service', '#/service/shop/catalog', 'Service shop/catalog'],
    ['certificates', '#/certificates', 'Certificates'],
  ];

  it.each(views)('opens the %s view from its deep link, with no serious accessibility violation', async (name, hash, title) => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${mesh.base}/debug/ui${hash}`);
    await page.locator('main h1', { hasText: title }).waitFor();
    expect(await heading(page)).toBe(title);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, name);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a resource with its source objects, and the problems by file and field', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${mesh.base}/debug/ui#/proxy/${encodeURIComponent(GOOD)}/resource/CDS/${encodeURIComponent(CATALOG_CLUSTER)}`);
    await page.locator('main dd a', { hasText: POLICY }).waitFor();
    expect(await page.locator('main dd li').allTextContents()).toEqual(expect.arrayContaining(['Service shop/catalog', POLICY]));
    await page.goto(`${mesh.base}/debug/ui#/problems`);
    await page.locator('main h2', { hasText: 'shop/broken.yaml' }).waitFor();
    expect(await page.locator('main tbody tr', { hasText: 'spec.ports[0].port' }).count()).toBe(1);
    await page.goto(`${mesh.base}/debug/ui#/service/shop/catalog`);
    await page.locator('main h4', { hasText: 'by locality' }).first().waitFor();
    expect(await page.locator('main tbody tr').count()).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
