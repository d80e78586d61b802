/** Writes crds/trafficpolicy.yaml from the zod schema (part of `npm run gen`). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTrafficPolicyCrdYaml } from './crd.js';

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../crds/trafficpolicy.yaml');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, renderTrafficPolicyCrdYaml());
console.log(`wrote ${out}`);
