/**
 * TrafficPolicy (trellis.dev/v1alpha1): the single source of truth for crds/trafficpolicy.yaml.
 *
 * Every object under `spec` is strict (unknown fields are refused, by zod and, with
 * fieldValidation=Strict, by the API server). Rules the JSON schema cannot say are declared once,
 * next to the node they constrain, with `withRules`: each rule is both a zod check (`holds`) and a
 * CEL `x-kubernetes-validations` entry (`cel`) on the same node, with the same message and the same
 * field path. `spec.mtls` says how traffic to the target is secured (mutual TLS); `spec.authorization`
 * who may call it (schema-authorization.ts). Every section but authorization is merged field by field
 * when several policies target one port (merge.ts); every accepted policy's authorization applies.
 *
 * Strings and lists carry maximum lengths so that the API server's CEL cost estimates stay bounded.
 */
import { z } from 'zod';
import { count, dnsName, duration, headerName, notLonger, percent, portNumber, withRules } from './schema-kit.js';
import { rateLimit, routing } from './schema-routing.js';
import { authorization } from './schema-authorization.js';

export { crossFieldRules, DURATION_PATTERN, durationMs, durationNanos, type CrossFieldRule } from './schema-kit.js';

// ------------------------------------------------------------------------------------------
// targetRefs

const targetRef = withRules(
  z
    .strictObject({
      group: z.literal('').describe("The API group of the target: '' (core)"),
      kind: z.literal('Service').describe('The kind of the target: Service'),
      name: dnsName('The name of the Service, in the policy’s namespace'),
      port: portNumber('Only this port of the Service').optional(),
      sectionName: z.string().min(1).max(63).describe('Only the Service port of this name').optional(),
    })
    .describe('A Service (optionally one of its ports) the policy attaches to, in the shape of Gateway API policy attachment'),
  [
    {
      message: 'port and sectionName are mutually exclusive',
      field: ['sectionName'],
      cel: '!(has(self.port) && has(self.sectionName))',
      holds: (r) => !(r.port !== undefined && r.sectionName !== undefined),
    },
  ],
);

// ------------------------------------------------------------------------------------------
// load balancing

const hash = withRules(
  z
    .strictObject({
      header: z.strictObject({ name: headerName }).describe('Hash on the value of this request header').optional(),
      cookie: z
        .strictObject({
          name: z.string().min(1).max(256).describe('The cookie name'),
          ttl: duration('Lifetime of a cookie the proxy generates when the request has none').optional(),
          path: z.string().max(1024).describe('Path of a generated cookie').optional(),
        })
        .describe('Hash on the value of this cookie')
        .optional(),
      sourceIP: z.literal(true).describe('Hash on the client’s source IP address').optional(),
    })
    .describe('The hash key of consistent hashing: exactly one of header, cookie, sourceIP'),
  [
    {
      message: 'exactly one of header, cookie, sourceIP must be set',
      cel: '[has(self.header), has(self.cookie), has(self.sourceIP)].filter(x, x).size() == 1',
      holds: (h) => [h.header, h.cookie, h.sourceIP].filter((x) => x !== undefined).length === 1,
    },
  ],
);

const loadBalancing = withRules(
  z
    .strictObject({
      algorithm: z
        .enum(['roundRobin', 'leastRequest', 'random', 'ringHash', 'maglev'])
        .describe('How an endpoint is picked; ringHash and maglev hash on `hash`'),
      hash: hash.optional(),
      localityAware: z.boolean().describe('Prefer endpoints in the client’s own locality (region/zone)').optional(),
      failover: z
        .array(
          z.strictObject({
            from: z.string().min(1).max(253).describe('A region (or region/zone)'),
            to: z.string().min(1).max(253).describe('Where its traffic goes when it has no healthy endpoint'),
          }),
        )
        .min(1)
        .max(32)
        .describe('Locality failover order; requires localityAware')
        .optional(),
    })
    .describe('Load balancing across the endpoints of the target'),
  [
    {
      message: 'ringHash and maglev require a hash key',
      field: ['hash'],
      cel: "!(self.algorithm in ['ringHash', 'maglev']) || has(self.hash)",
      holds: (lb) => !(lb.algorithm === 'ringHash' || lb.algorithm === 'maglev') || lb.hash !== undefined,
    },
    {
      message: 'hash applies only to ringHash and maglev',
      field: ['hash'],
      cel: "self.algorithm in ['ringHash', 'maglev'] || !has(self.hash)",
      holds: (lb) => lb.algorithm === 'ringHash' || lb.algorithm === 'maglev' || lb.hash === undefined,
    },
    {
      message: 'failover requires localityAware',
      field: ['failover'],
      cel: '!has(self.failover) || (has(self.localityAware) && self.localityAware)',
      holds: (lb) => lb.failover === undefined || lb.localityAware === true,
    },
  ],
);

// ------------------------------------------------------------------------------------------
// resilience

const connectionPool = z
  .strictObject({
    maxConnections: count(1, 'Maximum connections to the Service').optional(),
    maxPendingRequests: count(1, 'Maximum requests waiting for a connection').optional(),
    maxRequests: count(1, 'Maximum concurrent requests').optional(),
    maxRetries: count(0, 'Maximum concurrent retries').optional(),
  })
  .describe('Connection pool limits (circuit breaking): requests over a limit fail at once');

const outlierDetection = z
  .strictObject({
    consecutive5xx: count(0, 'Consecutive 5xx responses that eject an endpoint (0: off)').optional(),
    consecutiveGatewayErrors: count(0, 'Consecutive 502/503/504 responses that eject an endpoint (0: off)').optional(),
    interval: duration('Time between ejection sweeps').optional(),
    baseEjectionTime: duration('Base ejection time, multiplied by the number of ejections').optional(),
    maxEjectionPercent: percent('Maximum share of endpoints ejected at once').optional(),
    failurePercentage: z
      .strictObject({
        threshold: percent('Failure share of one endpoint that ejects it'),
        minimumHosts: count(0, 'Endpoints needed before any is ejected (default 5)').optional(),
        requestVolume: count(0, 'Requests an endpoint must have had in the interval to be judged (default 50)').optional(),
      })
      .describe('Eject endpoints whose share of failed requests in an interval exceeds the threshold (the detection proxyless gRPC implements)')
      .optional(),
  })
  .describe('Ejection of misbehaving endpoints');

const timeouts = withRules(
  z
    .strictObject({
      request: duration('Whole request, retries included').optional(),
      perTry: duration('Each attempt').optional(),
      idle: duration('Idle connection or stream').optional(),
      connect: duration('Establishing a connection').optional(),
    })
    .describe('Timeouts'),
  [
    {
      message: 'perTry must not be longer than request',
      field: ['perTry'],
      cel: '!(has(self.perTry) && has(self.request)) || duration(self.perTry) <= duration(self.request)',
      holds: (t) => notLonger(t.perTry, t.request),
    },
  ],
);

export const RETRY_ON = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

const backoff = withRules(
  z
    .strictObject({
      base: duration('Base interval of exponential backoff'),
      max: duration('Maximum interval').optional(),
    })
    .describe('Backoff between attempts'),
  [
    {
      message: 'max must not be shorter than base',
      field: ['max'],
      cel: '!has(self.max) || duration(self.base) <= duration(self.max)',
      holds: (b) => notLonger(b.base, b.max),
    },
  ],
);

const retries = withRules(
  z
    .strictObject({
      attempts: z.number().int().min(0).max(100).describe('Retries after the first attempt (0: none)'),
      retryOn: z
        .array(z.enum(RETRY_ON))
        .min(1)
        .max(RETRY_ON.length)
        .describe('Conditions that trigger a retry: HTTP (5xx, gateway-error, reset, connect-failure, retriable-status-codes) and gRPC status codes')
        .optional(),
      retriableStatusCodes: z
        .array(z.number().int().min(100).max(599))
        .min(1)
        .max(32)
        .describe('HTTP status codes retried with retryOn retriable-status-codes')
        .optional(),
      perTryTimeout: duration('Timeout of each attempt').optional(),
      backoff: backoff.optional(),
    })
    .describe('Retries'),
  [
    {
      message: 'retriableStatusCodes is required exactly when retryOn contains retriable-status-codes',
      field: ['retriableStatusCodes'],
      cel: "(has(self.retryOn) && 'retriable-status-codes' in self.retryOn) == has(self.retriableStatusCodes)",
      holds: (r) => (r.retryOn?.includes('retriable-status-codes') ?? false) === (r.retriableStatusCodes !== undefined),
    },
  ],
);

// ------------------------------------------------------------------------------------------
// fault injection, observability

const GRPC_CODES = [
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

const abort = withRules(
  z
    .strictObject({
      httpStatus: z.number().int().min(200).max(599).describe('Answer with this HTTP status').optional(),
      grpcStatus: z.enum(GRPC_CODES).describe('Answer with this gRPC status').optional(),
      percent: percent('Share of requests aborted'),
    })
    .describe('Abort requests'),
  [
    {
      message: 'exactly one of httpStatus, grpcStatus must be set',
      cel: 'has(self.httpStatus) != has(self.grpcStatus)',
      holds: (a) => (a.httpStatus !== undefined) !== (a.grpcStatus !== undefined),
    },
  ],
);

const faultInjection = withRules(
  z
    .strictObject({
      delay: z
        .strictObject({ fixedDelay: duration('Added latency'), percent: percent('Share of requests delayed') })
        .describe('Delay requests')
        .optional(),
      abort: abort.optional(),
    })
    .describe('Fault injection, for testing resilience'),
  [
    {
      message: 'at least one of delay, abort must be set',
      cel: 'has(self.delay) || has(self.abort)',
      holds: (f) => f.delay !== undefined || f.abort !== undefined,
    },
  ],
);

const observability = z
  .strictObject({
    accessLog: z
      .strictObject({
        enabled: z.boolean(),
        format: z.enum(['text', 'json']).describe('Default text').optional(),
      })
      .describe('Access logging')
      .optional(),
    tracing: z
      .strictObject({ samplingPercent: percent('Share of requests traced') })
      .describe('Tracing')
      .optional(),
  })
  .describe('Access logs and tracing');

// ------------------------------------------------------------------------------------------
// mutual TLS

export const MTLS_MODES = ['STRICT', 'PERMISSIVE'] as const;

const mtls = z
  .strictObject({
    mode: z
      .enum(MTLS_MODES)
      .describe(
        'STRICT: the target accepts only mutual TLS from mesh workloads, and every client in the mesh uses it; PERMISSIVE: mutual TLS and plaintext are both accepted, and sidecars use mutual TLS towards endpoints in the mesh',
      ),
  })
  .describe('Mutual TLS to the target (overrides the control plane’s --mtls-mode); needs workload certificates (trellis serve --issuer)');

// ------------------------------------------------------------------------------------------
// the resource

export const trafficPolicySpecSchema = z
  .strictObject({
    targetRefs: z.array(targetRef).min(1).max(16).describe('The Services this policy applies to'),
    loadBalancing: loadBalancing.optional(),
    connectionPool: connectionPool.optional(),
    outlierDetection: outlierDetection.optional(),
    timeouts: timeouts.optional(),
    retries: retries.optional(),
    routing: routing.optional(),
    faultInjection: faultInjection.optional(),
    rateLimit: rateLimit.optional(),
    observability: observability.optional(),
    mtls: mtls.optional(),
    authorization: authorization.optional(),
  })
  .describe('What the mesh should do with traffic to the target Services');

const specWithRules = withRules(trafficPolicySpecSchema, [
  {
    message: 'retries.perTryTimeout must not be longer than timeouts.request',
    field: ['retries', 'perTryTimeout'],
    cel: '!(has(self.retries) && has(self.retries.perTryTimeout) && has(self.timeouts) && has(self.timeouts.request)) || duration(self.retries.perTryTimeout) <= duration(self.timeouts.request)',
    holds: (s) => notLonger(s.retries?.perTryTimeout, s.timeouts?.request),
  },
]);

export const conditionSchema = z
  .strictObject({
    type: z.string().min(1).max(316).describe('Accepted, ResolvedRefs, PartiallyInvalid, Conflicted or Programmed'),
    status: z.enum(['True', 'False', 'Unknown']),
    observedGeneration: z.number().int().min(0).optional(),
    lastTransitionTime: z.string().meta({ format: 'date-time' }),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
    message: z.string().max(32768),
  })
  .describe('A metav1.Condition');

export const trafficPolicyStatusSchema = z
  .strictObject({
    observedGeneration: z.number().int().min(0).describe('The generation the status describes').optional(),
    conditions: z
      .array(conditionSchema)
      .max(8)
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Accepted, ResolvedRefs, PartiallyInvalid, Conflicted, Programmed')
      .optional(),
  })
  .describe('Written by the control plane');

export const trafficPolicySchema = z
  .strictObject({
    apiVersion: z.literal('trellis.dev/v1alpha1'),
    kind: z.literal('TrafficPolicy'),
    metadata: z.looseObject({
      name: z.string().min(1).max(253),
      namespace: z.string().min(1).max(63).optional(),
      generation: z.number().int().optional(),
      creationTimestamp: z.string().optional(),
    }),
    spec: specWithRules,
    status: trafficPolicyStatusSchema.optional(),
  })
  .describe('TrafficPolicy: traffic and resilience settings for Services of the mesh');

export type TrafficPolicy = z.output<typeof trafficPolicySchema>;
export type TrafficPolicySpec = z.output<typeof trafficPolicySpecSchema>;
/** A spec's settings: everything but where it attaches. */
export type PolicySettings = Omit<TrafficPolicySpec, 'targetRefs'>;
export type PolicySection = keyof PolicySettings;
export type TargetRef = TrafficPolicySpec['targetRefs'][number];
/** One HTTP route of `routing.http`. */
export type HttpRouteRule = NonNullable<TrafficPolicySpec['routing']>['http'][number];
/** How traffic to a service port is secured: mutual TLS only, or mutual TLS and plaintext. */
export type MtlsMode = (typeof MTLS_MODES)[number];
/** Who may call the target's workloads (`spec.authorization`). */
export type AuthorizationSpec = NonNullable<TrafficPolicySpec['authorization']>;
export type AuthorizationRule = AuthorizationSpec['rules'][number];
export type AuthorizationFrom = NonNullable<AuthorizationRule['from']>[number];
export type AuthorizationTo = NonNullable<AuthorizationRule['to']>[number];

/** The spec with its cross-field rules: what a policy is validated against. */
export const validatedSpecSchema = specWithRules;
