/**
 * `routing.http[].requestHeaders` / `responseHeaders` → a route's request_headers_to_add /
 * request_headers_to_remove / response_headers_to_add / response_headers_to_remove. Sidecars only:
 * gRPC implements no header changes (routing.ts notes and leaves them out).
 *
 *   set     append_action OVERWRITE_IF_EXISTS_OR_ADD
 *   add     append_action APPEND_IF_EXISTS_OR_ADD
 *   remove  *_headers_to_remove
 *
 * Values are literal: '%' is written '%%', since Envoy reads %…% in header values as a command
 * (a lone '%' would make it reject the route). Envoy refuses to change `host` this way (and
 * ':'-prefixed headers, which the schema already refuses): such entries are errors, left out;
 * rewrite.hostname changes the host.
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { HeaderValueOption } from '../../envoy/generated/envoy/config/core/v3/HeaderValueOption.js';
import type { Route } from '../../envoy/generated/envoy/config/route/v3/Route.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { routingNote, rulePath } from './routing-notes.js';
import type { PortContext } from './types.js';

type HeaderChanges = NonNullable<HttpRouteRule['requestHeaders']>;
type HeaderFields = Pick<Route, 'request_headers_to_add' | 'request_headers_to_remove' | 'response_headers_to_add' | 'response_headers_to_remove'>;

function modifiable(name: string): boolean {
  return !name.startsWith(':') && name.toLowerCase() !== 'host';
}

function option(name: string, value: string, append_action: HeaderValueOption['append_action']): HeaderValueOption {
  return { header: { key: name, value: value.replaceAll('%', '%%') }, append_action };
}

function changes(ctx: PortContext, c: HeaderChanges, path: string, errors: Diagnostic[]): { add: HeaderValueOption[]; remove: string[] } {
  const keep = (name: string, field: string): boolean => {
    if (modifiable(name)) return true;
    errors.push(routingNote(ctx, field, `Envoy does not let routes change the header "${name}"; left out (rewrite.hostname sets the host)`));
    return false;
  };
  const add = [
    ...(c.set ?? []).filter((h, k) => keep(h.name, `${path}.set[${k}].name`)).map((h) => option(h.name, h.value, 'OVERWRITE_IF_EXISTS_OR_ADD')),
    ...(c.add ?? []).filter((h, k) => keep(h.name, `${path}.add[${k}].name`)).map((h) => option(h.name, h.value, 'APPEND_IF_EXISTS_OR_ADD')),
  ];
  const remove = (c.remove ?? []).filter((name, k) => keep(name, `${path}.remove[${k}]`));
  return { add, remove };
}

/** The header changes of rule `i`. */
export function headerFields(ctx: PortContext, rule: HttpRouteRule, i: number, errors: Diagnostic[]): HeaderFields {
  const out: HeaderFields = {};
  if (rule.requestHeaders) {
    const { add, remove } = changes(ctx, rule.requestHeaders, `${rulePath(i)}.requestHeaders`, errors);
    if (add.length > 0) out.request_headers_to_add = add;
    if (remove.length > 0) out.request_headers_to_remove = remove;
  }
  if (rule.responseHeaders) {
    const { add, remove } = changes(ctx, rule.responseHeaders, `${rulePath(i)}.responseHeaders`, errors);
    if (add.length > 0) out.response_headers_to_add = add;
    if (remove.length > 0) out.response_headers_to_remove = remove;
  }
  return out;
}
