/** The examples and the table of invalid policies, shared by schema.test.ts and apiserver.test.ts. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const examplesDir = join(repo, 'examples/policies');

export type Doc = Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown> };

export const examples: [file: string, doc: Doc][] = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => [f, parse(readFileSync(join(examplesDir, f), 'utf8')) as Doc]);

/** A path as the API server writes it: `spec.routing.http[0].redirect`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

const svc = { group: '', kind: 'Service', name: 'catalog' };
const minimal = (spec: Record<string, unknown>): Doc => ({
  apiVersion: 'trellis.dev/v1alpha1',
  kind: 'TrafficPolicy',
  metadata: { name: 'bad' },
  spec: { targetRefs: [svc], ...spec },
});

const allowFrom = (entry: Record<string, unknown>) => ({ action: 'ALLOW', rules: [{ from: [entry] }] });
const allowTo = (entry: Record<string, unknown>) => ({ action: 'ALLOW', rules: [{ to: [entry] }] });
const FROM0 = 'spec.authorization.rules[0].from[0]';
const TO0 = 'spec.authorization.rules[0].to[0]';

/** [what is wrong, the policy, the field path both zod and the API server must report]. */
export const invalid: [what: string, doc: Doc, path: string][] = [
  // wrong types
  ['attempts is a string', minimal({ retries: { attempts: 'three' } }), 'spec.retries.attempts'],
  ['localityAware is a string', minimal({ loadBalancing: { algorithm: 'random', localityAware: 'yes' } }), 'spec.loadBalancing.localityAware'],
  ['targetRefs is a string', minimal({ targetRefs: 'catalog' }), 'spec.targetRefs'],
  ['a backend weight is fractional', minimal({ routing: { http: [{ backends: [{ weight: 1.5 }] }] } }), 'spec.routing.http[0].backends[0].weight'],
  // unknown fields
  ['an unknown section', minimal({ security: { mtls: 'STRICT' } }), 'spec.security'],
  ['an unknown field in timeouts', minimal({ timeouts: { request: '1s', total: '2s' } }), 'spec.timeouts.total'],
  ['an unknown field in a route', minimal({ routing: { http: [{ name: 'a', weight: 3 }] } }), 'spec.routing.http[0].weight'],
  // out of range, bad enums, bad formats, missing
  ['no targetRefs', minimal({ targetRefs: [] }), 'spec.targetRefs'],
  ['a target of kind Deployment', minimal({ targetRefs: [{ ...svc, kind: 'Deployment' }] }), 'spec.targetRefs[0].kind'],
  ['a target port of 0', minimal({ targetRefs: [{ ...svc, port: 0 }] }), 'spec.targetRefs[0].port'],
  ['maxEjectionPercent 150', minimal({ outlierDetection: { maxEjectionPercent: 150 } }), 'spec.outlierDetection.maxEjectionPercent'],
  ['maxConnections 0', minimal({ connectionPool: { maxConnections: 0 } }), 'spec.connectionPool.maxConnections'],
  ['negative attempts', minimal({ retries: { attempts: -1 } }), 'spec.retries.attempts'],
  ['a weight over 1000', minimal({ routing: { http: [{ backends: [{ weight: 1001 }] }] } }), 'spec.routing.http[0].backends[0].weight'],
  ['mirror percent 101', minimal({ routing: { http: [{ mirror: { service: 'catalog', percent: 101 } }] } }), 'spec.routing.http[0].mirror.percent'],
  ['an unknown algorithm', minimal({ loadBalancing: { algorithm: 'weighted' } }), 'spec.loadBalancing.algorithm'],
  ['an unknown retryOn', minimal({ retries: { attempts: 1, retryOn: ['sometimes'] } }), 'spec.retries.retryOn[0]'],
  ['a duration without unit', minimal({ timeouts: { request: '10' } }), 'spec.timeouts.request'],
  ['a negative duration', minimal({ outlierDetection: { interval: '-1s' } }), 'spec.outlierDetection.interval'],
  ['a delay without percent', minimal({ faultInjection: { delay: { fixedDelay: '1s' } } }), 'spec.faultInjection.delay.percent'],
  ['an HTTP abort status 600', minimal({ faultInjection: { abort: { httpStatus: 600, percent: 1 } } }), 'spec.faultInjection.abort.httpStatus'],
  ['an mTLS mode in lower case', minimal({ mtls: { mode: 'strict' } }), 'spec.mtls.mode'],
  ['an mTLS mode DISABLE', minimal({ mtls: { mode: 'DISABLE' } }), 'spec.mtls.mode'],
  ['mtls without a mode', minimal({ mtls: {} }), 'spec.mtls.mode'],
  ['an unknown field in mtls', minimal({ mtls: { mode: 'STRICT', sans: ['x'] } }), 'spec.mtls.sans'],
  ['a redirect status 200', minimal({ routing: { http: [{ redirect: { statusCode: 200 } }] } }), 'spec.routing.http[0].redirect.statusCode'],
  ['sampling 100.5%', minimal({ observability: { tracing: { samplingPercent: 100.5 } } }), 'spec.observability.tracing.samplingPercent'],
  ['no spec', { apiVersion: 'trellis.dev/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'bad' } } as unknown as Doc, 'spec'],
  ['an authorization action LOG', minimal({ authorization: { action: 'LOG', rules: [] } }), 'spec.authorization.action'],
  ['authorization without rules', minimal({ authorization: { action: 'ALLOW' } }), 'spec.authorization.rules'],
  [
    'a SPIFFE ID without a service account',
    minimal({ authorization: allowFrom({ identities: ['spiffe://cluster.local/ns/shop'] }) }),
    FROM0 + '.identities[0]',
  ],
  [
    'a SPIFFE ID with * in the namespace',
    minimal({ authorization: allowFrom({ identities: ['spiffe://cluster.local/ns/*/sa/web'] }) }),
    FROM0 + '.identities[0]',
  ],
  ['a bare service account name as identity', minimal({ authorization: allowFrom({ identities: ['frontend'] }) }), FROM0 + '.identities[0]'],
  ['an empty identities list', minimal({ authorization: allowFrom({ identities: [] }) }), FROM0 + '.identities'],
  ['a namespace with upper case', minimal({ authorization: allowFrom({ namespaces: ['Shop'] }) }), FROM0 + '.namespaces[0]'],
  ['an unknown field in a from entry', minimal({ authorization: allowFrom({ namespaces: ['shop'], principals: ['x'] }) }), FROM0 + '.principals'],
  ['a method in lower case', minimal({ authorization: allowTo({ methods: ['get'] }) }), TO0 + '.methods[0]'],
  ['a port 0 in a to entry', minimal({ authorization: allowTo({ ports: [0] }) }), TO0 + '.ports[0]'],
  ['a regular-expression path', minimal({ authorization: allowTo({ paths: [{ type: 'RegularExpression', value: '/a.*' }] }) }), TO0 + '.paths[0].type'],
  // cross-field rules, one case each
  ['port and sectionName together', minimal({ targetRefs: [{ ...svc, port: 80, sectionName: 'http' }] }), 'spec.targetRefs[0].sectionName'],
  ['a hash with two keys', minimal({ loadBalancing: { algorithm: 'maglev', hash: { sourceIP: true, header: { name: 'x-id' } } } }), 'spec.loadBalancing.hash'],
  ['ringHash without a hash', minimal({ loadBalancing: { algorithm: 'ringHash' } }), 'spec.loadBalancing.hash'],
  ['a hash with roundRobin', minimal({ loadBalancing: { algorithm: 'roundRobin', hash: { sourceIP: true } } }), 'spec.loadBalancing.hash'],
  ['failover without localityAware', minimal({ loadBalancing: { algorithm: 'random', failover: [{ from: 'a', to: 'b' }] } }), 'spec.loadBalancing.failover'],
  ['perTry longer than request', minimal({ timeouts: { request: '1s', perTry: '1.5s' } }), 'spec.timeouts.perTry'],
  ['backoff max shorter than base', minimal({ retries: { attempts: 1, backoff: { base: '1s', max: '250ms' } } }), 'spec.retries.backoff.max'],
  ['retriable-status-codes without codes', minimal({ retries: { attempts: 1, retryOn: ['retriable-status-codes'] } }), 'spec.retries.retriableStatusCodes'],
  [
    'codes without retriable-status-codes',
    minimal({ retries: { attempts: 1, retryOn: ['5xx'], retriableStatusCodes: [503] } }),
    'spec.retries.retriableStatusCodes',
  ],
  [
    'tokensPerFill over maxTokens',
    minimal({ rateLimit: { local: { maxTokens: 5, tokensPerFill: 10, fillInterval: '1s' } } }),
    'spec.rateLimit.local.tokensPerFill',
  ],
  [
    'a route bucket with tokensPerFill over maxTokens',
    minimal({ routing: { http: [{ rateLimit: { local: { maxTokens: 1, tokensPerFill: 2, fillInterval: '1s' } } }] } }),
    'spec.routing.http[0].rateLimit.local.tokensPerFill',
  ],
  [
    'a prefix path without /',
    minimal({ routing: { http: [{ matches: [{ path: { type: 'PathPrefix', value: 'api' } }] }] } }),
    'spec.routing.http[0].matches[0].path.value',
  ],
  [
    'redirect with backends',
    minimal({ routing: { http: [{ name: 'a' }, { redirect: { path: '/x' }, backends: [{ service: 'cart-cache' }] }] } }),
    'spec.routing.http[1].redirect',
  ],
  [
    'all backend weights 0',
    minimal({
      routing: {
        http: [
          {
            backends: [
              { service: 'a', weight: 0 },
              { service: 'b', weight: 0 },
            ],
          },
        ],
      },
    }),
    'spec.routing.http[0].backends',
  ],
  [
    'an abort with both statuses',
    minimal({ faultInjection: { abort: { httpStatus: 503, grpcStatus: 'UNAVAILABLE', percent: 1 } } }),
    'spec.faultInjection.abort',
  ],
  ['an abort with no status', minimal({ faultInjection: { abort: { percent: 1 } } }), 'spec.faultInjection.abort'],
  ['empty faultInjection', minimal({ faultInjection: {} }), 'spec.faultInjection'],
  ['a DENY without rules', minimal({ authorization: { action: 'DENY', rules: [] } }), 'spec.authorization.rules'],
  ['an empty from entry', minimal({ authorization: allowFrom({}) }), FROM0],
  ['an empty to entry', minimal({ authorization: allowTo({}) }), TO0],
  ['a path without /', minimal({ authorization: allowTo({ paths: [{ type: 'Exact', value: 'api' }] }) }), TO0 + '.paths[0].value'],
  ['a path with a query', minimal({ authorization: allowTo({ paths: [{ type: 'PathPrefix', value: '/api?x=1' }] }) }), TO0 + '.paths[0].value'],
  [
    'retries.perTryTimeout over timeouts.request',
    minimal({ timeouts: { request: '1s' }, retries: { attempts: 2, perTryTimeout: '2s' } }),
    'spec.retries.perTryTimeout',
  ],
];
