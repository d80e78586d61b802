/** Writes the generated files of helm/trellis (part of `npm run gen`, after crds/): see helm-chart.ts. */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_CRD_TEMPLATE, renderChartFiles } from './helm-chart.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const chart = join(root, 'helm/trellis');
const crdDir = join(root, 'crds');
const crds = Object.fromEntries(
  readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, readFileSync(join(crdDir, f), 'utf8')]),
);
const files = renderChartFiles(crds);
mkdirSync(join(chart, 'templates'), { recursive: true });
for (const leftover of readdirSync(join(chart, 'templates')).filter((f) => GENERATED_CRD_TEMPLATE.test(f) && !(`templates/${f}` in files))) {
  rmSync(join(chart, 'templates', leftover));
}
for (const [path, text] of Object.entries(files)) {
  writeFileSync(join(chart, path), text);
  console.log(`wrote ${join(chart, path)}`);
}
