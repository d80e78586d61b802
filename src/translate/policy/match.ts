/**
 * `routing.http[].matches` → Envoy RouteMatch, for sidecars and for proxyless gRPC.
 *
 *   path Exact              path
 *   path PathPrefix         Gateway API semantics: '/foo' (or '/foo/') matches '/foo', '/foo/' and
 *                           '/foo/bar', never '/foobar'. Sidecars: path_separated_prefix '/foo'
 *                           (exactly that rule in Envoy); gRPC rejects path_separated_prefix, so
 *                           proxyless gets two matches, path '/foo' and prefix '/foo/'. A prefix
 *                           of '/' matches everything: prefix '/' (sidecar), '' (gRPC).
 *   path RegularExpression  safe_regex (RE2, whole path, both)
 *   headers                 headers[] with string_match exact / safe_regex, names lowercased
 *   queryParams             query_parameters (sidecar). A gRPC call has no query string: such a
 *                           match never holds, and is left out for proxyless (grpc-js would ignore
 *                           the condition and match too much)
 *   method                  header ':method' exact (sidecar). Every gRPC call is a POST: POST
 *                           matches every call and is dropped, any other method never matches and
 *                           the match is left out for proxyless
 *
 * No `matches` (or an empty match) matches every request.
 */
import type { Diagnostic } from '../../diagnostics.js';
import type { HeaderMatcher } from '../../envoy/generated/envoy/config/route/v3/HeaderMatcher.js';
import type { QueryParameterMatcher } from '../../envoy/generated/envoy/config/route/v3/QueryParameterMatcher.js';
import type { RouteMatch } from '../../envoy/generated/envoy/config/route/v3/RouteMatch.js';
import type { StringMatcher } from '../../envoy/generated/envoy/type/matcher/v3/StringMatcher.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import { routingNotByGrpc, rulePath } from './routing-notes.js';
import type { PortContext, ProxyTarget } from './types.js';
import { prefixUnmatchable } from '../../policy/limits.js';

type Match = NonNullable<HttpRouteRule['matches']>[number];
type PathMatch = NonNullable<Match['path']>;
type StringMatch = NonNullable<Match['headers']>[number];

/** What the path condition of an emitted match is: what a ReplacePrefixMatch rewrite replaces. */
export type MatchedPath =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly path: string }
  /** The prefix without its trailing '/' ('' for '/'). */
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'regex' };

export interface EmittedMatch {
  readonly match: RouteMatch;
  readonly path: MatchedPath;
}

/** The Envoy matches of one entry of a rule's `matches` (index `entry`; none: the entry is left out). */
export interface MatchEntry {
  readonly entry: number;
  readonly matches: readonly EmittedMatch[];
}

/** The prefix that matches every path, per target (as the default route has it). */
export function matchAllPrefix(target: ProxyTarget): string {
  return target === 'proxyless' ? '' : '/';
}

/** True when the match holds for every request. */
export function matchesEverything(m: RouteMatch): boolean {
  const noPath = m.path === undefined && m.safe_regex === undefined && m.path_separated_prefix === undefined;
  return noPath && (m.prefix === '' || m.prefix === '/') && (m.headers ?? []).length === 0 && (m.query_parameters ?? []).length === 0;
}

function stringMatcher(m: StringMatch): StringMatcher {
  // RE2 matches the whole value: an empty expression matches only the empty value.
  if (m.type === 'RegularExpression' && m.value !== '') return { safe_regex: { regex: m.value } };
  return { exact: m.value };
}

function stripTrailingSlashes(p: string): string {
  return p.replace(/\/+$/, '');
}

function prefixMatches(value: string, target: ProxyTarget): EmittedMatch[] | undefined {
  const prefix = stripTrailingSlashes(value);
  if (prefix === '') return [{ match: { prefix: matchAllPrefix(target) }, path: { kind: 'prefix', prefix } }];
  if (target === 'proxyless') {
    return [
      { match: { path: prefix }, path: { kind: 'prefix', prefix } },
      { match: { prefix: `${prefix}/` }, path: { kind: 'prefix', prefix } },
    ];
  }
  if (prefixUnmatchable(prefix)) return undefined;
  return [{ match: { path_separated_prefix: prefix }, path: { kind: 'prefix', prefix } }];
}

function pathMatches(path: PathMatch | undefined, target: ProxyTarget): EmittedMatch[] | undefined {
  if (!path) return [{ match: { prefix: matchAllPrefix(target) }, path: { kind: 'any' } }];
  switch (path.type) {
    case 'Exact':
      return [{ match: { path: path.value }, path: { kind: 'exact', path: path.value } }];
    case 'PathPrefix':
      return prefixMatches(path.value, target);
    case 'RegularExpression':
      return [{ match: { safe_regex: { regex: path.value } }, path: { kind: 'regex' } }];
  }
}

function headerMatchers(m: Match, target: ProxyTarget): HeaderMatcher[] {
  const headers: HeaderMatcher[] = (m.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), string_match: stringMatcher(h) }));
  if (m.method !== undefined && target === 'sidecar') headers.push({ name: ':method', string_match: { exact: m.method } });
  return headers;
}

function queryMatchers(m: Match): QueryParameterMatcher[] {
  return (m.queryParams ?? []).map((q) => ({ name: q.name, string_match: stringMatcher(q) }));
}

/** Why proxyless gRPC can never match this entry, if it cannot. */
function grpcNeverMatches(ctx: PortContext, m: Match, path: string): Diagnostic | undefined {
  if (m.queryParams !== undefined) {
    return routingNotByGrpc(ctx, `${path}.queryParams`, 'query parameter matches', 'a gRPC call has no query string, so this match never holds; left out');
  }
  if (m.method !== undefined && m.method !== 'POST') {
    return routingNotByGrpc(ctx, `${path}.method`, `method ${m.method}`, 'every gRPC call is a POST, so this match never holds; left out');
  }
  return undefined;
}

function entryMatches(ctx: PortContext, m: Match, path: string, errors: Diagnostic[]): EmittedMatch[] {
  if (ctx.target === 'proxyless') {
    const never = grpcNeverMatches(ctx, m, path);
    if (never) {
      errors.push(never);
      return [];
    }
  }
  const paths = pathMatches(m.path, ctx.target);
  if (!paths) return []; // a prefix Envoy cannot match on: the model reported it
  const headers = headerMatchers(m, ctx.target);
  const query = ctx.target === 'sidecar' ? queryMatchers(m) : [];
  return paths.map((p) => ({
    path: p.path,
    match: { ...p.match, ...(headers.length > 0 ? { headers } : {}), ...(query.length > 0 ? { query_parameters: query } : {}) },
  }));
}

/** The Envoy matches of rule `i`, entry by entry, in order. */
export function ruleMatches(ctx: PortContext, rule: HttpRouteRule, i: number, errors: Diagnostic[]): MatchEntry[] {
  const entries = rule.matches ?? [{}];
  return entries.map((m, entry) => ({ entry, matches: entryMatches(ctx, m, `${rulePath(i)}.matches[${entry}]`, errors) }));
}
