/**
 * Resources as text for people: `trellis render` prints them, golden files hold them. One YAML
 * document per resource type, resources in name order, in the object form they are encoded from.
 */
import { stringify } from 'yaml';
import { compareText, formatRef } from '../diagnostics.js';
import { PUSH_ORDER, SHORT_NAME, TypeUrl, type ResourceKind } from '../envoy/types.js';
import type { Translation } from './translation.js';

/** One resource as it is shown: its name, the objects it came from, and the resource itself. */
export interface ShownResource {
  readonly name: string;
  readonly sources: readonly string[];
  readonly resource: unknown;
}

/** One kind's resources, in name order, as they are shown (in YAML here, in JSON by `trellis render -o json`). */
export function shownResources(translation: Translation, kind: ResourceKind): ShownResource[] {
  const list = [...translation.resources[kind]].sort((a, b) => compareText(a.name, b.name));
  return list.map((r) => ({ name: r.name, sources: (r.sources ?? []).map(formatRef), resource: r.message }));
}

/** The YAML of one kind's resources (`[]` when there are none). */
export function renderKind(translation: Translation, kind: ResourceKind): string {
  return stringify(shownResources(translation, kind), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Every kind, as a multi-document YAML stream headed by type comments. */
export function renderTranslation(translation: Translation): string {
  return PUSH_ORDER.map((kind) => `# ${SHORT_NAME[kind]}: ${TypeUrl[kind]}\n${renderKind(translation, kind)}`).join('---\n');
}
