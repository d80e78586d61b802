/**
 * `/debug/ui`: the debug view in a browser. Static files (src/debug/ui/, copied beside this module
 * into dist/ by `npm run build`) read once at start and served under a strict Content-Security-Policy:
 * nothing from another origin, no inline script or style, no framing. The page reads the JSON views
 * and `/debug/events`; it builds its DOM with textContent, so a NACK message or a node id holding
 * markup stays text.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UI_PATH = '/debug/ui';

/** Where the files are: beside this module, in src/ (tsx) as in dist/ (the build copies them). */
const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

export const UI_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': UI_CSP,
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface UiAsset {
  /** `/debug/ui` for index.html, `/debug/ui/<file>` for the others. */
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

/** The files the UI is made of; those of another type (the .d.ts of the helpers) are not served. */
export async function loadUiAssets(dir: string = UI_DIR): Promise<UiAsset[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw new Error(`debug UI: cannot read its files in ${dir}: ${(err as Error).message}`, { cause: err });
  }
  if (!names.includes('index.html')) throw new Error(`debug UI: ${dir} has no index.html`);
  const assets: UiAsset[] = [];
  for (const name of names) {
    const contentType = name.endsWith('.d.ts') ? undefined : CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    const body = await readFile(join(dir, name), 'utf8');
    assets.push({ path: name === 'index.html' ? UI_PATH : `${UI_PATH}/${name}`, contentType, body });
  }
  return assets;
}
