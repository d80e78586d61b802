/**
 * `routing.http[].redirect` → route.redirect and `routing.http[].rewrite` → the RouteAction's path
 * and host rewrites. Sidecars only: gRPC implements neither (routing.ts notes and leaves them out).
 *
 *   redirect          scheme_redirect, host_redirect, path_redirect, port_redirect, response_code
 *                     (default 302 FOUND; Envoy's own default would be 301)
 *   ReplaceFullPath   regex_rewrite '^/.*$' → value (Envoy keeps the query string)
 *   ReplacePrefixMatch with a PathPrefix '/foo': prefix_rewrite '/bar' ('/foo/x' → '/bar/x'); to '/',
 *                     regex_rewrite '^/foo/*' → '/' ('/foo/x' → '/x', '/foo' → '/'). With the '/'
 *                     prefix (or no path condition): prefix_rewrite '/bar/'. With an Exact path:
 *                     prefix_rewrite (the whole path is the prefix). With a RegularExpression path:
 *                     not rewritten (an error on the policy, from the model: model/policy-checks.ts)
 *   hostname          host_rewrite_literal
 */
import type { RedirectAction } from '../../envoy/generated/envoy/config/route/v3/RedirectAction.js';
import type { RouteAction } from '../../envoy/generated/envoy/config/route/v3/RouteAction.js';
import type { HttpRouteRule } from '../../policy/schema.js';
import type { MatchedPath } from './match.js';

type Redirect = NonNullable<HttpRouteRule['redirect']>;
type Rewrite = NonNullable<HttpRouteRule['rewrite']>;
type PathRewrite = NonNullable<Rewrite['path']>;

const RESPONSE_CODE = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
} as const satisfies Record<NonNullable<Redirect['statusCode']>, RedirectAction['response_code']>;

/** The redirect of a rule. */
export function redirectAction(r: Redirect): RedirectAction {
  return {
    ...(r.scheme !== undefined ? { scheme_redirect: r.scheme } : {}),
    ...(r.hostname !== undefined ? { host_redirect: r.hostname } : {}),
    ...(r.path !== undefined ? { path_redirect: r.path } : {}),
    ...(r.port !== undefined ? { port_redirect: r.port } : {}),
    response_code: RESPONSE_CODE[r.statusCode ?? 302],
  };
}

/** An RE2 expression matching `text` literally. */
export function re2Literal(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

type PathRewriteFields = Pick<RouteAction, 'prefix_rewrite' | 'regex_rewrite'>;

function replacePrefix(value: string, matched: MatchedPath): PathRewriteFields | undefined {
  const replacement = value.replace(/\/+$/, '');
  switch (matched.kind) {
    case 'exact':
      return { prefix_rewrite: value };
    case 'regex':
      return undefined;
    case 'any':
      return replacement === '' ? {} : { prefix_rewrite: `${replacement}/` };
    case 'prefix':
      if (matched.prefix === '') return replacement === '' ? {} : { prefix_rewrite: `${replacement}/` };
      if (replacement === '') return { regex_rewrite: { pattern: { regex: `^${re2Literal(matched.prefix)}/*` }, substitution: '/' } };
      return { prefix_rewrite: replacement };
  }
}

function pathRewrite(p: PathRewrite, matched: MatchedPath): PathRewriteFields {
  if (p.type === 'ReplaceFullPath') return { regex_rewrite: { pattern: { regex: '^/.*$' }, substitution: p.value } };
  // Where the path matched a regular expression there is no prefix to replace (the model reported it).
  return replacePrefix(p.value, matched) ?? {};
}

/** The rewrites of rule `i` for one of its matches. */
export function rewriteFields(rule: HttpRouteRule, matched: MatchedPath): Pick<RouteAction, 'prefix_rewrite' | 'regex_rewrite' | 'host_rewrite_literal'> {
  const rewrite = rule.rewrite;
  if (!rewrite) return {};
  return {
    ...(rewrite.path ? pathRewrite(rewrite.path, matched) : {}),
    ...(rewrite.hostname !== undefined ? { host_rewrite_literal: rewrite.hostname } : {}),
  };
}
