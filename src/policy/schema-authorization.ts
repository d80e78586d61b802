/**
 * The authorization section of the TrafficPolicy schema (assembled in schema.ts): who may call the
 * target's workloads, and what.
 *
 *   authorization:
 *     action: ALLOW | DENY
 *     rules:                       # a rule matches when one `from` entry and one `to` entry match
 *       - from:                    # absent or empty: any caller
 *           - identities: [spiffe://cluster.local/ns/shop/sa/frontend]
 *             namespaces: [shop]   # the fields of an entry AND together; the values of a list OR
 *         to:                      # absent or empty: any request
 *           - paths: [{ type: PathPrefix, value: /api }]
 *             methods: [GET]
 *             ports: [80]
 *
 * What only the model can check (the trust domain Trellis runs with, TCP ports, ports of the target)
 * is checked there (src/model/authorization.ts); everything else is refused here, by zod and by the
 * API server alike.
 */
import { z } from 'zod';
import { portNumber, withRules } from './schema-kit.js';

export const AUTHORIZATION_ACTIONS = ['ALLOW', 'DENY'] as const;
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

/**
 * A workload identity, `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`, where the
 * service account may end in `*`: every service account of that namespace whose name starts with
 * what comes before it (`sa/batch-*`; `sa/*` is the whole namespace). The `*` can stand nowhere
 * else, so an identity never reaches beyond its namespace.
 */
export const SPIFFE_ID_PATTERN = new RegExp(
  '^spiffe://[a-z0-9._-]{1,255}/ns/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/sa/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?|[a-z0-9.-]{0,252}[*])$',
);
export const SPIFFE_ID_MESSAGE = 'expected a SPIFFE ID spiffe://<trust-domain>/ns/<namespace>/sa/<service-account> (the service account may end in *)';

const identity = z
  .string()
  .max(512)
  .regex(SPIFFE_ID_PATTERN, { error: (issue) => `${SPIFFE_ID_MESSAGE}, found ${JSON.stringify(issue.input)}` })
  .describe('spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>; a trailing * matches service accounts by prefix');

const namespaceName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .describe('A namespace');

const from = withRules(
  z
    .strictObject({
      identities: z.array(identity).min(1).max(32).describe('The caller presents one of these identities (its certificate’s URI SAN)').optional(),
      namespaces: z.array(namespaceName).min(1).max(32).describe('The caller’s identity is of one of these namespaces').optional(),
    })
    .describe('Who calls: every field given must match. Only callers with a workload certificate (mutual TLS) have an identity'),
  [
    {
      message: 'at least one of identities, namespaces must be set',
      cel: 'has(self.identities) || has(self.namespaces)',
      holds: (f) => f.identities !== undefined || f.namespaces !== undefined,
    },
  ],
);

const path = withRules(
  z
    .strictObject({
      type: z.enum(['Exact', 'PathPrefix']).describe('Exact, or PathPrefix (whole segments: /api matches /api and /api/x, not /apix)'),
      value: z.string().min(1).max(1024),
    })
    .describe('A request path, without the query string (for gRPC: /package.Service/Method)'),
  [
    {
      message: "a path must start with '/'",
      field: ['value'],
      cel: "self.value.startsWith('/')",
      holds: (p) => p.value.startsWith('/'),
    },
    {
      message: "a path cannot contain '?' or '#': the query and fragment are not part of it",
      field: ['value'],
      cel: "!self.value.contains('?') && !self.value.contains('#')",
      holds: (p) => !p.value.includes('?') && !p.value.includes('#'),
    },
  ],
);

const to = withRules(
  z
    .strictObject({
      paths: z.array(path).min(1).max(16).describe('The request path is one of these (HTTP ports only)').optional(),
      methods: z
        .array(z.enum(HTTP_METHODS))
        .min(1)
        .max(HTTP_METHODS.length)
        .describe('The request method is one of these (HTTP ports only; every gRPC call is a POST)')
        .optional(),
      ports: z.array(portNumber('A port of the target Service')).min(1).max(16).describe('The request came for one of these ports of the target').optional(),
    })
    .describe('What is called: every field given must match'),
  [
    {
      message: 'at least one of paths, methods, ports must be set',
      cel: 'has(self.paths) || has(self.methods) || has(self.ports)',
      holds: (t) => t.paths !== undefined || t.methods !== undefined || t.ports !== undefined,
    },
  ],
);

const rule = z
  .strictObject({
    from: z.array(from).max(16).describe('Any of these callers (absent or empty: any caller)').optional(),
    to: z.array(to).max(16).describe('Any of these requests (absent or empty: any request)').optional(),
  })
  .describe('Matches a request when one of its `from` entries and one of its `to` entries match');

export const authorization = withRules(
  z
    .strictObject({
      action: z
        .enum(AUTHORIZATION_ACTIONS)
        .describe('DENY: refuse what a rule matches; ALLOW: once any ALLOW policy applies, refuse what no ALLOW rule matches'),
      rules: z.array(rule).max(32).describe('The rules; an ALLOW with none allows nothing'),
    })
    .describe(
      'Who may call the target’s workloads: enforced by their own proxies, inbound. Every accepted policy on a port applies (DENY first); identities and namespaces need workload certificates (trellis serve --issuer)',
    ),
  [
    {
      message: 'a DENY needs at least one rule',
      field: ['rules'],
      cel: "self.action == 'ALLOW' || size(self.rules) > 0",
      holds: (a) => a.action === 'ALLOW' || a.rules.length > 0,
    },
  ],
);
