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
import type { HeaderValueOption } from '../../envoy/generated/envoy/config/core/v3/HeaderValueOption.js';
import type { Route } from '../../envoy/generated/envoy/config/route/v3/Route.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { modifiableHeader } from '../../policy/limits.js';

type HeaderChanges = NonNullable<HttpRouteRule['requestHeaders']>;
type HeaderFields = Pick<Route, 'request_headers_to_add' | 'request_headers_to_remove' | 'response_headers_to_add' | 'response_headers_to_remove'>;

function option(name: string, value: string, append_action: HeaderValueOption['append_action']): HeaderValueOption {
  return { header: { key: name, value: value.replaceAll('%', '%%') }, append_action };
}

/** The changes Envoy lets a route make; a header it refuses is left out (the model reported it). */
function changes(c: HeaderChanges): { add: HeaderValueOption[]; remove: string[] } {
  const add = [
    ...(c.set ?? []).filter((h) => modifiableHeader(h.name)).map((h) => option(h.name, h.value, 'OVERWRITE_IF_EXISTS_OR_ADD')),
    ...(c.add ?? []).filter((h) => modifiableHeader(h.name)).map((h) => option(h.name, h.value, 'APPEND_IF_EXISTS_OR_ADD')),
  ];
  return { add, remove: (c.remove ?? []).filter(modifiableHeader) };
}

/** The header changes of rule `i`. */
export function headerFields(rule: HttpRouteRule): HeaderFields {
  const out: HeaderFields = {};
  if (rule.requestHeaders) {
    const { add, remove } = changes(rule.requestHeaders);
    if (add.length > 0) out.request_headers_to_add = add;
    if (remove.length > 0) out.request_headers_to_remove = remove;
  }
  if (rule.responseHeaders) {
    const { add, remove } = changes(rule.responseHeaders);
    if (add.length > 0) out.response_headers_to_add = add;
    if (remove.length > 0) out.response_headers_to_remove = remove;
  }
  return out;
}
