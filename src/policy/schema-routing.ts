/**
 * The routing and rate-limiting sections of the TrafficPolicy schema (assembled in schema.ts).
 */
import { z } from 'zod';
import { dnsName, duration, count, headerName, labels, percent, portNumber, withRules } from './schema-kit.js';

// ------------------------------------------------------------------------------------------
// rate limiting

const tokenBucket = withRules(
  z
    .strictObject({
      maxTokens: count(1, 'Bucket size'),
      tokensPerFill: count(1, 'Tokens added each fillInterval'),
      fillInterval: duration('Refill interval'),
    })
    .describe('A local token bucket'),
  [
    {
      message: 'tokensPerFill must not exceed maxTokens',
      field: ['tokensPerFill'],
      cel: 'self.tokensPerFill <= self.maxTokens',
      holds: (b) => b.tokensPerFill <= b.maxTokens,
    },
  ],
);

export const rateLimit = z
  .strictObject({ local: tokenBucket.describe('Local (per proxy) token bucket') })
  .describe('Rate limiting; requests over the limit get 429');

// ------------------------------------------------------------------------------------------
// routing

const stringMatch = z.strictObject({
  name: headerName,
  type: z.enum(['Exact', 'RegularExpression']).describe('Default Exact').optional(),
  value: z.string().max(1024),
});

const pathMatch = withRules(
  z
    .strictObject({
      type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']),
      value: z.string().min(1).max(1024),
    })
    .describe('Match on the request path'),
  [
    {
      message: "an Exact or PathPrefix path must start with '/'",
      field: ['value'],
      cel: "self.type == 'RegularExpression' || self.value.startsWith('/')",
      holds: (p) => p.type === 'RegularExpression' || p.value.startsWith('/'),
    },
  ],
);

const match = z
  .strictObject({
    path: pathMatch.optional(),
    headers: z.array(stringMatch).min(1).max(16).describe('All of these headers must match').optional(),
    queryParams: z.array(stringMatch).min(1).max(16).describe('All of these query parameters must match').optional(),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']).optional(),
  })
  .describe('A request matches when every given condition holds');

const backend = z
  .strictObject({
    service: dnsName('A Service in the policy’s namespace (default: the target)').optional(),
    port: portNumber('Its port (default: the port the request came for)').optional(),
    subset: z
      .strictObject({ labels: labels.describe('Pod labels selecting the subset') })
      .describe('Only the endpoints whose pods carry these labels (a canary)')
      .optional(),
    weight: z.number().int().min(0).max(1000).describe('Relative weight (default 1)').optional(),
  })
  .describe('A weighted destination');

const headerChanges = z
  .strictObject({
    set: z
      .array(z.strictObject({ name: headerName, value: z.string().max(4096) }))
      .min(1)
      .max(16)
      .optional(),
    add: z
      .array(z.strictObject({ name: headerName, value: z.string().max(4096) }))
      .min(1)
      .max(16)
      .optional(),
    remove: z.array(headerName).min(1).max(16).optional(),
  })
  .describe('Header changes');

const route = withRules(
  z
    .strictObject({
      name: z.string().min(1).max(63).describe('For status and debugging').optional(),
      matches: z.array(match).min(1).max(16).describe('Any of these (default: every request)').optional(),
      backends: z.array(backend).min(1).max(16).describe('Weighted split').optional(),
      redirect: z
        .strictObject({
          scheme: z.enum(['http', 'https']).optional(),
          hostname: dnsName('Host of the redirect').optional(),
          path: z.string().min(1).max(1024).optional(),
          port: portNumber('Port of the redirect').optional(),
          statusCode: z.literal([301, 302, 303, 307, 308]).describe('Default 302').optional(),
        })
        .describe('Answer with a redirect instead of forwarding')
        .optional(),
      rewrite: z
        .strictObject({
          path: z.strictObject({ type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']), value: z.string().min(1).max(1024) }).optional(),
          hostname: dnsName('New Host/authority').optional(),
        })
        .describe('Rewrite the request before forwarding')
        .optional(),
      requestHeaders: headerChanges.optional(),
      responseHeaders: headerChanges.optional(),
      mirror: z
        .strictObject({
          service: dnsName('The Service receiving copies'),
          port: portNumber('Its port').optional(),
          percent: percent('Share of requests mirrored'),
        })
        .describe('Send copies of requests (responses ignored)')
        .optional(),
      rateLimit: rateLimit.optional(),
    })
    .describe('An HTTP route; the first route that matches wins'),
  [
    {
      message: 'redirect cannot be combined with backends, rewrite or mirror',
      field: ['redirect'],
      cel: '!has(self.redirect) || !(has(self.backends) || has(self.rewrite) || has(self.mirror))',
      holds: (r) => r.redirect === undefined || (r.backends === undefined && r.rewrite === undefined && r.mirror === undefined),
    },
    {
      message: 'the backend weights must not all be 0',
      field: ['backends'],
      cel: '!has(self.backends) || self.backends.exists(b, !has(b.weight) || b.weight > 0)',
      holds: (r) => r.backends === undefined || r.backends.some((b) => (b.weight ?? 1) > 0),
    },
  ],
);

export const routing = z.strictObject({ http: z.array(route).min(1).max(64).describe('HTTP routes, in order') }).describe('Request routing');
